"""The typed slices of settings that components take, made from the one Settings object
here, so that the settings module knows no imaging, smart-crop or webhook code."""

from __future__ import annotations

from darkroom.api.variants import VariantSettings
from darkroom.config import Settings
from darkroom.imaging import Limits
from darkroom.jobs.retry import Backoff
from darkroom.smart.yolo import DEFAULT_TEXT_LABELS, YoloSettings
from darkroom.webhooks.sender import WebhookSettings
from darkroom.webhooks.signing import secret_key
from darkroom.worker.fetch import DownloadLimits
from darkroom.worker.leases import LeaseSettings


def image_limits(settings: Settings) -> Limits:
    return Limits(
        max_source_pixels=settings.max_source_pixels,
        max_frames=settings.max_source_frames,
        max_output_dimension=settings.max_output_dimension,
        max_output_pixels=settings.max_output_pixels,
    )


def variant_settings(settings: Settings) -> VariantSettings:
    """On-the-fly conversions in an API process; DARKROOM_VARIANT_CACHE=false keeps none."""
    return VariantSettings(
        concurrency=settings.variant_concurrency,
        wait_s=settings.variant_wait_s,
        cache_max_bytes=settings.variant_cache_max_bytes if settings.variant_cache else 0,
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


def lease_settings(settings: Settings) -> LeaseSettings:
    return LeaseSettings(lease_s=settings.lease_s, poll_interval_s=settings.poll_interval_s)


def job_backoff(settings: Settings) -> Backoff:
    """The wait before a failed job's next attempt."""
    return Backoff(base_s=settings.retry_backoff_s, max_s=settings.retry_backoff_max_s)


def download_limits(settings: Settings) -> DownloadLimits:
    return DownloadLimits(
        max_bytes=settings.max_upload_bytes,
        timeout_s=settings.download_timeout_s,
        max_redirects=settings.download_max_redirects,
    )


def webhook_settings(settings: Settings) -> WebhookSettings:
    return WebhookSettings(
        timeout_s=settings.webhook_timeout_s,
        attempts=settings.webhook_attempts,
        backoff=Backoff(base_s=settings.webhook_backoff_s, max_s=settings.webhook_backoff_max_s),
        concurrency=settings.webhook_concurrency,
        poll_s=settings.poll_interval_s,
        secret=settings.webhook_secret,
        link_base=settings.link_base(),
    )


def check(settings: Settings) -> None:
    """Refuse at start-up what only the components can judge: ValueError saying why."""
    if settings.webhook_secret:
        try:
            secret_key(settings.webhook_secret)
        except ValueError as exc:
            raise ValueError(f"DARKROOM_WEBHOOK_SECRET: {exc}") from exc
