"""Filters on the output-sized image: Gaussian blur and sharpening."""

from __future__ import annotations

from darkroom.imaging.libvips import VImage
from darkroom.imaging.transform import map_frames


def filtered(image: VImage, blur: float | None, sharpen: float | None) -> VImage:
    """``image`` blurred with sigma ``blur``, then sharpened with sigma ``sharpen`` (each
    in output pixels; None: not at all), frame by frame, keeping its band format."""
    if blur is None and sharpen is None:
        return image
    band_format = image.format

    def each(frame: VImage) -> VImage:
        if blur is not None:
            frame = frame.gaussblur(blur)
        if sharpen is not None:
            frame = _sharpened(frame, sharpen)
        return frame.cast(band_format) if frame.format != band_format else frame

    return map_frames(image, each)


def _sharpened(frame: VImage, sigma: float) -> VImage:
    """libvips' sharpen works on the lightness of a colour image; alpha is left as it is."""
    if frame.hasalpha():
        colour, alpha = (
            frame.extract_band(0, n=frame.bands - 1),
            frame.extract_band(frame.bands - 1),
        )
        return _sharpened(colour, sigma).bandjoin(alpha)
    interpretation = frame.interpretation
    return frame.sharpen(sigma=sigma).colourspace(interpretation)
