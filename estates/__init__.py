"""estates: NHS estate and land-disposal analysis for London."""

__version__ = "0.1.0"
