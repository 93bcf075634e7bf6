"""The virtual phone: an adb server and uiautomator2 server on loopback, backed by any Feed."""
