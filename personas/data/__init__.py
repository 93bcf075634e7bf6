"""Data files shipped with the personas package (interview outline, web page template, sample personas)."""
