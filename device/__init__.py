"""The phone: Device interface, the uiautomator2/adbutils driver, app profiles, PhoneFeed, the virtual phone."""
