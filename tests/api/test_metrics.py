"""GET /metrics of a started `darkroom serve`: figures of the API process and of its
worker process, and the queue's state read at scrape time."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import DarkroomProcess, LoopbackServer, make_image, on_sqlite, wait_until


def samples(proc: DarkroomProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    resp = proc.client.get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(resp.text)
        for sample in family.samples
    }


def value(figures: dict[Any, float], name: str, **labels: str) -> float:
    return figures.get((name, frozenset(labels.items())), 0.0)


@on_sqlite
def test_metrics_after_real_jobs(serve_factory: Any) -> None:
    # a folder of its own, not one the test process may have set for its in-process apps
    proc: DarkroomProcess = serve_factory(
        workers=1, DARKROOM_MAX_ATTEMPTS="1", PROMETHEUS_MULTIPROC_DIR=""
    )
    receiver = LoopbackServer()
    try:
        image = make_image(320, 240)
        outputs = [
            {"name": "a", "op": "thumbnail", "width": 64, "format": "jpeg"},
            {"name": "b", "op": "thumbnail", "width": 64, "format": "webp"},
        ]
        spec = {"outputs": outputs, "webhook_url": receiver.url("/hook")}
        made = proc.upload(image, spec)
        assert made.status_code == 202, made.text
        missing = proc.submit({"source": {"url": receiver.url("/gone.jpg")}, "outputs": outputs})
        done = proc.wait_job(made.json()["id"])
        failed = proc.wait_job(missing["id"])
        assert (done["status"], failed["status"]) == ("succeeded", "failed")
        wait_until(lambda: receiver.received, 30)
        figures = wait_until(
            lambda: (
                (f := samples(proc))
                and value(f, "darkroom_webhook_deliveries_total", outcome="delivered")
                and f
            ),
            30,
        )
    finally:
        receiver.close()

    assert value(figures, "darkroom_jobs_submitted_total", source="blob") == 1
    assert value(figures, "darkroom_jobs_submitted_total", source="url") == 1
    code = failed["error"]["code"]
    assert value(figures, "darkroom_jobs_finished_total", status="succeeded", error_code="") == 1
    assert value(figures, "darkroom_jobs_finished_total", status="failed", error_code=code) == 1
    assert value(figures, "darkroom_job_duration_seconds_count", status="succeeded") == 1
    assert value(figures, "darkroom_job_duration_seconds_sum", status="succeeded") > 0
    assert value(figures, "darkroom_job_queue_wait_seconds_count", attempt="first") == 2
    # recorded in the worker process
    for fmt in ("jpeg", "webp"):
        assert (
            value(figures, "darkroom_output_render_seconds_count", op="thumbnail", format=fmt) == 1
        )
        assert value(figures, "darkroom_output_bytes_total", format=fmt) > 0
    assert value(figures, "darkroom_source_bytes_total", kind="blob") == len(image)
    # route templates, not paths
    posted = {"method": "POST", "route": "/v1/jobs", "status": "202"}
    assert value(figures, "darkroom_http_requests_total", **posted) == 2
    read = {"method": "GET", "route": "/v1/jobs/{job_id}", "status": "200"}
    assert value(figures, "darkroom_http_requests_total", **read) >= 2
    assert not any(done["id"] in str(labels) for _name, labels in figures)
    # the queue's state, read from the store
    assert value(figures, "darkroom_jobs", status="succeeded") == 1
    assert value(figures, "darkroom_queue_depth") == 0
    assert value(figures, "darkroom_queue_oldest_age_seconds") == 0
    assert value(figures, "darkroom_workers_alive") == 1
    assert value(figures, "darkroom_workers_busy") == 0
