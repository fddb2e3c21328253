"""darkroom: an asynchronous image-processing job service."""

__version__ = "0.1.0"
