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
from darkroom.imaging.geometry import Size
from darkroom.imaging.pair import PairCover, PairSpec, compose_pair, pair_size
from darkroom.imaging.plan import check_output_size, check_outputs
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
    "Size",
    "SourceFacts",
    "SourceUnreadable",
    "UnsupportedImage",
    "check_output_size",
    "check_outputs",
    "compose_pair",
    "convert",
    "media_type",
    "pair_size",
    "probe",
    "render",
]
