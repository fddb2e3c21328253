"""Errors raised by image work, each with a stable machine code."""


class ImageError(Exception):
    """Base class: the image (not the service) is at fault; retrying will not help."""

    code = "image_error"


class SourceUnreadable(ImageError):
    """The source file is missing or cannot be read (a path input only)."""

    code = "source_unavailable"


class UnsupportedImage(ImageError):
    code = "unsupported_image"


class CorruptImage(ImageError):
    code = "corrupt_image"


class DamagedData(CorruptImage):
    """The decoder itself said pixel data is missing or damaged (a JPEG scan cut short):
    decoding again more leniently would only fill the gap with grey."""


class ImageTooLarge(ImageError):
    """Source dimensions, pixel count or frame count over the configured limits."""

    code = "image_too_large"


class OutputTooLarge(ImageError):
    code = "output_too_large"


class InvalidSpec(ImageError):
    code = "invalid_spec"
