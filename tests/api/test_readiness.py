"""GET /readyz asks each part it names: the database, the queue (with a broker, the broker
itself) and the blob store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import on_sqlite
from tests.servers import Redis


@on_sqlite  # the subject is the broker; the database is only beside it
def test_a_broker_that_stops_answering_makes_the_api_unready(
    api_factory: Any, tmp_path: Path
) -> None:
    broker = Redis(tmp_path)  # this test's own, stopped halfway
    try:
        api = api_factory(
            workers=0, DARKROOM_BROKER_URL=broker.url, DARKROOM_BROKER_STREAM=broker.new_stream()
        )
        ready = api.client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "checks": {"database": "ok", "queue": "ok", "storage": "ok"},
        }
    finally:
        broker.stop()

    unready = api.client.get("/readyz")
    assert unready.status_code == 503
    body = unready.json()
    assert body["status"] == "unavailable"
    checks = body["checks"]
    assert (checks["database"], checks["storage"]) == ("ok", "ok")  # still each reported
    assert checks["queue"].startswith("error: ConnectionError: ")
    assert broker.url.removeprefix("unix://") in checks["queue"]  # it names what failed
