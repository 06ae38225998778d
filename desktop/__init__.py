"""ControlNet Studio: a native desktop app for ControlNet."""

__version__ = "0.1.0"
