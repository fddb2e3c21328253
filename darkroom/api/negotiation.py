"""Which of an output's stored formats a request gets: proactive negotiation on its
``Accept`` header (RFC 9110 §12.5.1).

Each stored format is weighed by the most specific media range of ``Accept`` that matches
it (``image/webp`` over ``image/*`` over ``*/*``); the highest weight wins, the output's
own order breaking ties. Without ``Accept`` every format is acceptable; when none is (an
``Accept`` that allows no image, or refuses each one with ``q=0``), the first stored format
is served all the same rather than a 406: a browser's ``<img>`` then still shows a picture,
and ``Content-Type`` says what it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    weight: float

    def specificity(self, media_type: str) -> int | None:
        """How closely this range names ``media_type`` (2 exactly, 1 its type, 0 any);
        None when it does not match it."""
        kind, _, sub = media_type.partition("/")
        if self.type == "*":
            return 0 if self.subtype == "*" else None
        if self.type != kind:
            return None
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == sub else None


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header, each with its weight; an element that
    cannot be read (no ``/``, a ``q`` that is no number in 0..1) is left out."""
    ranges: list[MediaRange] = []
    for element in header.split(","):
        media, *params = (part.strip() for part in element.split(";"))
        kind, slash, sub = media.lower().partition("/")
        if not slash or not kind or not sub or (kind == "*" and sub != "*"):
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = -1.0
        if 0 <= weight <= 1:
            ranges.append(MediaRange(kind, sub, weight))
    return ranges


def weight(media_type: str, ranges: Sequence[MediaRange]) -> float:
    """The weight ``ranges`` give ``media_type``: that of the most specific range that
    matches it (the first such when several are as specific), 0 when none does."""
    best: tuple[int, float] | None = None
    for media_range in ranges:
        specificity = media_range.specificity(media_type)
        if specificity is not None and (best is None or specificity > best[0]):
            best = (specificity, media_range.weight)
    return best[1] if best is not None else 0.0


def pick(media_types: Sequence[str], accept: str | None) -> int:
    """The index in ``media_types`` (an output's stored formats, in its order) to serve
    to a request whose ``Accept`` header is ``accept``."""
    if not accept or not accept.strip():
        return 0
    ranges = parse_accept(accept)
    if not ranges:  # nothing readable: as if no Accept were sent
        return 0
    weights = [weight(media_type, ranges) for media_type in media_types]
    best = max(weights)
    return weights.index(best) if best > 0 else 0
