"""scalelint: find what breaks first when traffic grows, before it does."""

__version__ = "0.1.0"
