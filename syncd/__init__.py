"""syncd keeps a professional network warm from calendar and mail metadata."""

__version__ = "0.1.0"
