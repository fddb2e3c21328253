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
from darkroom.imaging.pair import PairCover, PairSpec, compose_pair
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
    "PairCover",
    "PairSpec",
    "RenderSpec",
    "Rendered",
    "SourceFacts",
    "SourceUnreadable",
    "UnsupportedImage",
    "compose_pair",
    "convert",
    "media_type",
    "probe",
    "render",
]
