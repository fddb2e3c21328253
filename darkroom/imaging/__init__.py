"""Pure image work: a source (bytes, or a file's path) and a spec in, bytes and facts out.

Nothing here knows about jobs, HTTP, storage or databases.
"""

from darkroom.imaging.errors import (
    CorruptImage,
    ImageError,
    ImageTooLarge,
    InvalidSpec,
    OutputTooLarge,
    SourceUnreadable,
    UnsupportedImage,
)
from darkroom.imaging.probe import probe
from darkroom.imaging.render import convert, render
from darkroom.imaging.source import ImageInput
from darkroom.imaging.spec import (
    Crop,
    Gravity,
    Limits,
    Operation,
    OutputFormat,
    Rendered,
    RenderSpec,
    SourceFacts,
    media_type,
)

__all__ = [
    "CorruptImage",
    "Crop",
    "Gravity",
    "ImageError",
    "ImageInput",
    "ImageTooLarge",
    "InvalidSpec",
    "Limits",
    "Operation",
    "OutputFormat",
    "OutputTooLarge",
    "RenderSpec",
    "Rendered",
    "SourceFacts",
    "SourceUnreadable",
    "UnsupportedImage",
    "convert",
    "media_type",
    "probe",
    "render",
]
