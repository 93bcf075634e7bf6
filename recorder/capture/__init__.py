"""Capture a person browsing: touches, hierarchy, screen and audio into a Trace."""
