"""SafeStats: secure sharing and analysis of community-safety data."""

__version__ = "0.1.0"
