"""The entry point the imaging layer holds. OpenCV and NumPy (~50 MiB resident) are
loaded on the first smart crop, so processes that never make one never pay for them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from darkroom.smart.types import CropChoice, SmartMethod

if TYPE_CHECKING:
    from darkroom.smart.crop import SmartCropper
    from darkroom.smart.pages import PageAnalysis


class Analyzer:
    """One per worker process: keeps what smart crops load (the face model) between images."""

    def __init__(self) -> None:
        self._cropper: SmartCropper | None = None

    def choose(
        self,
        rgb: Any,
        width: int,
        height: int,
        method: SmartMethod,
        focus: tuple[float, float] | None = None,
    ) -> CropChoice:
        """Where a ``width`` x ``height`` window (as large as the picture allows along one
        axis) should sit on ``rgb`` (an 8-bit RGB array, rows x columns x 3)."""
        if self._cropper is None:
            from darkroom.smart.crop import SmartCropper

            self._cropper = SmartCropper()
        return self._cropper.choose(rgb, width, height, method, focus)

    def page(self, rgb: Any) -> PageAnalysis:
        """A comic page's text ratio and best portrait window (darkroom.smart.pages)."""
        from darkroom.smart.pages import analyse_page

        return analyse_page(rgb)
