"""DARKROOM_DIALECTS: which drop-in APIs are answered, where, and what their systems'
variables set; checked without a server."""

from __future__ import annotations

import pytest

from darkroom.app import create_app
from darkroom.config import Settings
from darkroom.dialects.registry import DialectConfigError, enabled, with_seed_settings


def test_names_seed_numbers_and_prefixes() -> None:
    assert enabled("", {}) == []
    found = enabled(" 000 , thumbforge@/tf/ ,imageproc@/ip", {})
    assert [(e.dialect.name, e.prefix) for e in found] == [
        ("smartcrop", ""), ("thumbforge", "/tf"), ("imageproc", "/ip")
    ]  # fmt: skip
    with pytest.raises(DialectConfigError, match="unknown dialect 'thumbor'"):
        enabled("thumbor", {})
    with pytest.raises(DialectConfigError, match="named twice"):
        enabled("003,imageproc", {})
    with pytest.raises(DialectConfigError, match="must start with '/'"):
        enabled("imageproc@legacy", {})


def test_two_dialects_may_not_answer_one_route() -> None:
    with pytest.raises(DialectConfigError, match="GET /health; give one a prefix"):
        create_app(Settings(), dialects=enabled("smartcrop,imageproc", {}))
    app = create_app(Settings(), dialects=enabled("smartcrop,imageproc@/ip,thumbforge", {}))
    paths = app.openapi()["paths"]
    for path in ("/thumbnail", "/job/{job_id}/image", "/ip/jobs", "/v1/images", "/v1/jobs"):
        assert path in paths, path
    # /healthz is the dialect's; darkroom's own is left out, of the schema too
    assert paths["/healthz"]["get"]["tags"] == ["drop-in: smartcrop (seed 000)"]


def test_their_variables_fill_what_darkroom_variables_left_unset() -> None:
    environ = {
        "PORT": "9100",
        "WORKER_POOL_SIZE": "4",
        "JOB_PROCESS_TIMEOUT_SECONDS": "600",
        "WEBHOOK_RETRIES": "5",
        "WEBHOOK_BACKOFF_MS": "50",  # under the service's minimum of 100: its default
        "WEBHOOK_TIMEOUT_SECONDS": "zero",  # not a number: the default
        "THUMBFORGE_DATABASE_URL": "postgresql+asyncpg://u:p@db:5432/thumbforge",
        "THUMBFORGE_REDIS_URL": "redis://redis:6379/0",
        "THUMBFORGE_QUEUE_NAME": "thumbforge:image_jobs",
        "THUMBFORGE_HTTP_TIMEOUT_SECONDS": "7",
    }
    dialects = enabled("smartcrop,imageproc@/ip,thumbforge", environ)
    settings = with_seed_settings(Settings(workers=2), dialects)
    assert settings.port == 9100 and settings.workers == 2  # DARKROOM_WORKERS was given
    assert settings.job_timeout_s == 600 and settings.webhook_attempts == 5
    assert settings.webhook_backoff_s == settings.webhook_backoff_max_s == 2.0
    assert settings.webhook_timeout_s == 15
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/thumbforge"
    assert settings.broker_url == "redis://redis:6379/0"
    assert settings.broker_stream == "thumbforge:image_jobs"
    assert settings.download_timeout_s == 7
    assert with_seed_settings(Settings(), []) == Settings()


def test_values_that_are_not_valid_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="THUMBFORGE_DUPLICATE_HANDLING"):
        enabled("thumbforge", {"THUMBFORGE_DUPLICATE_HANDLING": "sometimes"})
    with pytest.raises(ValueError, match="MAX_UPLOAD_SIZE"):
        enabled("imageproc", {"MAX_UPLOAD_SIZE": "big"})
