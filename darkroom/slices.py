"""The typed slices of settings that components take, made from the one Settings object
here, so that the settings module knows no imaging, smart-crop or webhook code."""

from __future__ import annotations

from darkroom.config import Settings
from darkroom.imaging import Limits
from darkroom.smart.yolo import DEFAULT_TEXT_LABELS, YoloSettings
from darkroom.webhooks.signing import secret_key


def image_limits(settings: Settings) -> Limits:
    return Limits(
        max_source_pixels=settings.max_source_pixels,
        max_frames=settings.max_source_frames,
        max_output_dimension=settings.max_output_dimension,
    )


def yolo_settings(settings: Settings) -> YoloSettings | None:
    """The object detector's settings; None when no model is configured."""
    if settings.yolo_model is None:
        return None
    labels = DEFAULT_TEXT_LABELS
    if settings.yolo_text_classes is not None:
        named = {name.strip().lower() for name in settings.yolo_text_classes.split(",")}
        labels = frozenset(named - {""})
    return YoloSettings(
        model=settings.yolo_model,
        device=settings.yolo_device,
        confidence=settings.yolo_confidence,
        image_size=settings.yolo_image_size,
        text_labels=labels,
    )


def check(settings: Settings) -> None:
    """Refuse at start-up what only the components can judge: ValueError saying why."""
    if settings.webhook_secret:
        try:
            secret_key(settings.webhook_secret)
        except ValueError as exc:
            raise ValueError(f"DARKROOM_WEBHOOK_SECRET: {exc}") from exc
