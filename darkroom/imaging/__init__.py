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
    Fit,
    Flip,
    Gravity,
    Limits,
    Operation,
    OutputFormat,
    Region,
    Rendered,
    RenderSpec,
    SourceFacts,
    WatermarkSpec,
    media_type,
)

__all__ = [
    "CorruptImage",
    "Crop",
    "Fit",
    "Flip",
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
    "Region",
    "RenderSpec",
    "Rendered",
    "Size",
    "SourceFacts",
    "SourceUnreadable",
    "UnsupportedImage",
    "WatermarkSpec",
    "check_output_size",
    "check_outputs",
    "compose_pair",
    "convert",
    "media_type",
    "pair_size",
    "probe",
    "render",
]
