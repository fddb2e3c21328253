"""Settings, read from ``DARKROOM_*`` environment variables (and ``PORT``)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from darkroom.jobs.bounds import MAX_RETENTION_S


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name to listen on) is loopback only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# DARKROOM_WATERMARKS: empty, or name=path pairs separated by commas
_WATERMARK = r"\s*[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\s*=[^,=]+"
_WATERMARKS = rf"^(\s*|{_WATERMARK}(,{_WATERMARK})*,?)$"


def _default_workers() -> int:
    return os.cpu_count() or 1


class Settings(BaseSettings):
    """Every setting darkroom reads. README.md lists them with their defaults."""

    model_config = SettingsConfigDict(env_prefix="DARKROOM_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, validation_alias=AliasChoices("DARKROOM_PORT", "PORT"))
    data_dir: Path = Path("darkroom-data")
    database_url: str | None = None  # default: sqlite under data_dir
    storage_url: str | None = None  # default: a folder under data_dir
    s3_addressing_style: Literal["auto", "path", "virtual"] | None = None
    storage_public_url: str | None = None  # outputs redirect to <this>/<object key>
    storage_presign_s: int = Field(0, ge=0, le=7 * 24 * 3600)  # >0: redirect to signed URLs
    broker_url: str | None = None  # redis://...: dispatch through Redis Streams
    broker_stream: str = "darkroom:jobs"  # the stream's key, when a broker is set
    input_root: Path | None = None  # server-side paths allowed as sources (off when unset)
    presets: Path | None = None  # a TOML or JSON file of named output specs (jobs/presets.py)
    # watermarks outputs may name: comma-separated name=path, e.g. "logo=/srv/logo.png"
    watermarks: str = Field("", pattern=_WATERMARKS)
    public_url: str | None = None  # base for links in responses; default: the request's
    # browser origins that may call the API (CORS, api/cors.py): comma-separated
    # scheme://host[:port], or * for any; empty: no CORS headers
    cors_origins: str = ""

    workers: int = Field(default_factory=_default_workers, ge=0)
    worker_threads: int = Field(1, ge=1)  # libvips threads per worker process
    job_timeout_s: float = Field(300.0, gt=0)
    # one job at a time across every worker, as the smart-crop seed's single worker did
    sequential: bool = False
    lease_s: float = Field(30.0, gt=1, le=60)
    max_attempts: int = Field(3, ge=1)
    retry_backoff_s: float = Field(2.0, ge=0)
    retry_backoff_max_s: float = Field(300.0, ge=0)
    poll_interval_s: float = Field(0.5, gt=0)

    max_upload_bytes: int = Field(50 * 1024 * 1024, gt=0)
    # every request body but a multipart upload; unset: json_body_limit()'s default
    max_json_bytes: int | None = Field(None, gt=0)
    max_source_pixels: int = Field(50_000_000, gt=0)
    max_source_frames: int = Field(256, gt=0)
    max_output_dimension: int = Field(8192, gt=0)
    # width x height of one output (x frames when animated); as large as the largest
    # source accepted, so that any accepted source can still be converted at full size
    max_output_pixels: int = Field(50_000_000, gt=0)
    max_outputs: int = Field(16, gt=0)
    max_sources: int = Field(50, gt=0)

    download_timeout_s: float = Field(20.0, gt=0)
    download_max_redirects: int = Field(5, ge=0)
    # hosts and CIDR ranges that source and webhook URLs may reach despite being loopback,
    # private or link-local (comma-separated); empty: public addresses only
    outbound_allow: str = ""
    webhook_url: str | None = None  # for jobs that name none
    webhook_secret: str | None = None  # whsec_ + base64; unset: deliveries are not signed
    webhook_timeout_s: float = Field(15.0, gt=0, le=300)
    webhook_attempts: int = Field(3, ge=1, le=50)
    webhook_backoff_s: float = Field(2.0, ge=0)  # before the second attempt; doubles, ±20 %
    webhook_backoff_max_s: float = Field(3600.0, ge=0)
    webhook_concurrency: int = Field(4, ge=1, le=64)  # deliveries in flight per process

    # the pair cover's defaults; the seed's THUMBNAIL_PAIR_* names are read too
    pair_width: int = Field(
        1200, ge=16, validation_alias=AliasChoices("DARKROOM_PAIR_WIDTH", "THUMBNAIL_PAIR_WIDTH")
    )
    pair_gap: int = Field(
        5, ge=0, validation_alias=AliasChoices("DARKROOM_PAIR_GAP", "THUMBNAIL_PAIR_GAP")
    )
    pair_skip_edges: int = Field(
        2,
        ge=0,
        validation_alias=AliasChoices("DARKROOM_PAIR_SKIP_EDGES", "THUMBNAIL_PAIR_SKIP_EDGES"),
    )

    # an ultralytics YOLO model file for smart crops and page text (docs/smart-crop.md);
    # the seed's THUMBNAIL_YOLO_* names are read too
    yolo_model: Path | None = Field(
        None, validation_alias=AliasChoices("DARKROOM_YOLO_MODEL", "THUMBNAIL_YOLO_MODEL")
    )
    yolo_device: str = Field(
        "cpu",
        pattern=r"^(cpu|cuda(:[0-9]+)?)$",
        validation_alias=AliasChoices("DARKROOM_YOLO_DEVICE", "THUMBNAIL_YOLO_DEVICE"),
    )
    yolo_confidence: float = Field(0.25, gt=0, le=1)
    yolo_image_size: int = Field(640, ge=32, le=4096)
    # class names that count as lettering when measuring a page's text (comma-separated)
    yolo_text_classes: str | None = None  # comma-separated; unset: the detector's own list

    events_poll_s: float = Field(0.25, gt=0, le=5)  # how often open event streams' jobs are read

    # keep finished jobs this long; unset: forever
    retention_s: int | None = Field(None, ge=1, le=MAX_RETENTION_S)
    sweep_interval_s: float = Field(60.0, gt=0)  # how often expired jobs are looked for

    # drop-in APIs of the systems darkroom replaces (docs/compatibility.md): names, each
    # optionally at a path prefix, e.g. "smartcrop,imageproc@/legacy"
    dialects: str = ""

    variant_cache: bool = True
    # variants kept in all, least recently used deleted first (api/variant_cache.py); 0: none
    variant_cache_max_bytes: int = Field(1024**3, ge=0)
    # on-the-fly conversions at once per API process, and how long a request waits for one
    # before 503 busy (api/variant_gate.py)
    variant_concurrency: int = Field(1, ge=1, le=64)
    variant_wait_s: float = Field(30.0, ge=0, le=600)
    admin_token: str | None = None
    # access control (docs/security.md): "keys" needs an API key on the native routes;
    # unset: "none", allowed only while the API listens on loopback
    auth: Literal["keys", "none"] | None = None
    output_link_ttl_s: int = Field(3600, ge=1, le=366 * 24 * 3600)  # signed output links
    # set: an output converted on the fly needs an HMAC of its URL (api/variant_signing.py)
    url_signing_key: str | None = Field(None, min_length=1)

    log_format: Literal["plain", "json"] = "plain"
    log_level: str = Field("info", pattern=r"(?i)^(debug|info|warning|error|critical)$")

    def link_base(self) -> str:
        """The base of links made outside a request (webhook bodies)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def auth_mode(self) -> Literal["keys", "none"]:
        """DARKROOM_AUTH; unset, "none" while the API listens on loopback, else ValueError:
        an exposed API must say whether it checks keys."""
        if self.auth is not None:
            return self.auth
        if not is_loopback(self.host):
            raise ValueError(
                f"DARKROOM_AUTH is unset and the API would listen on {self.host}, not on "
                "loopback: set DARKROOM_AUTH=keys (create keys with `darkroom keys create`) "
                "or DARKROOM_AUTH=none to serve without access control (docs/security.md)"
            )
        return "none"

    def json_body_limit(self) -> int:
        """The most bytes a request body other than a multipart upload may hold:
        DARKROOM_MAX_JSON_BYTES, else room for two sources of the largest size in base64
        (4/3 of their bytes; a pair cover takes two or more) and 1 MiB for the rest."""
        if self.max_json_bytes is not None:
            return self.max_json_bytes
        return 2 * ((self.max_upload_bytes + 2) // 3 * 4) + 1024 * 1024

    def sqlite_path(self) -> Path:
        return self.data_dir / "darkroom.db"

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path().resolve()}"

    def resolved_storage_url(self) -> str:
        return self.storage_url or str((self.data_dir / "blobs").resolve())

    def watermark_files(self) -> dict[str, Path]:
        """DARKROOM_WATERMARKS: each configured watermark's file, by name."""
        pairs = (pair.split("=", 1) for pair in self.watermarks.split(",") if pair.strip())
        return {name.strip(): Path(path.strip()) for name, path in pairs}

    def blob_options(self) -> dict[str, str | None]:
        """What open_blobs takes besides the URL."""
        return {"s3_addressing": self.s3_addressing_style}
