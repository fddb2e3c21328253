"""darkroom.client against a running `darkroom serve` (DARKROOM_AUTH=keys, signed variants,
presets, an input folder, a webhook secret): one server for the module."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pyvips

from darkroom.client import (
    ApiError,
    AsyncClient,
    Client,
    Job,
    Unreachable,
    WaitTimeout,
    sign_variant_url,
    verify_webhook,
)
from darkroom.store import open_engine
from darkroom.store.api_keys import ApiKeyStore, Limits
from darkroom.webhooks.signing import new_secret
from tests.helpers import (
    DarkroomProcess,
    LoopbackServer,
    darkroom_env,
    free_port,
    make_image,
    run_cli,
    wait_until,
)

SIGNING_KEY = "variant-signing-key"
WEBHOOK_SECRET = new_secret()
PRESETS = '[thumb]\nop = "thumbnail"\nwidth = 20\nformat = "png"\n'


@dataclass
class Served:
    server: DarkroomProcess
    key: str  # an API key with no limits
    slow_key: str  # one allowed a request now and then
    inputs: Path  # DARKROOM_INPUT_ROOT
    hooks: LoopbackServer  # where webhooks and URL sources are served from

    def client(self, **options: object) -> Client:
        return Client(self.server.url, **{"api_key": self.key, **options})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("client")
    (folder / "data").mkdir()
    inputs = folder / "inputs"
    inputs.mkdir()
    (folder / "presets.toml").write_text(PRESETS)
    engine = open_engine(f"sqlite:///{folder / 'data' / 'darkroom.db'}")
    try:
        keys = ApiKeyStore(engine)
        key = keys.create("app")[1]
        slow_key = keys.create("slow", limits=Limits(rate_per_s=0.001, burst=1))[1]
    finally:
        engine.dispose()
    port = free_port()
    server = DarkroomProcess(
        args=["serve", "--port", str(port), "--workers", "1"],
        env=darkroom_env(
            folder / "data",
            DARKROOM_AUTH="keys",
            DARKROOM_INPUT_ROOT=str(inputs),
            DARKROOM_URL_SIGNING_KEY=SIGNING_KEY,
            DARKROOM_PRESETS=str(folder / "presets.toml"),
            DARKROOM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        ),
        log_path=folder / "serve.log",
        port=port,
    )
    hooks = LoopbackServer()
    try:
        yield Served(server.start(), key, slow_key, inputs, hooks)
    finally:
        hooks.close()
        server.stop()


def _size(data: bytes) -> tuple[int, int]:
    image = pyvips.Image.new_from_buffer(data, "")
    return image.width, image.height


def test_upload_a_file_wait_download_and_verify_its_webhook(served: Served, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(make_image(120, 80))
    with served.client(signing_key=SIGNING_KEY) as client:
        job = client.submit(
            photo,
            outputs=[{"name": "small", "width": 40, "format": "png"}],
            labels={"suite": "client"},
            webhook_url=served.hooks.url("/hook"),
            wait=30,
        )
        assert job.status == "succeeded", job.raw
        assert (job.sources[0].kind, job.sources[0].filename) == ("upload", "photo.jpg")
        assert (job.sources[0].width, job.sources[0].height) == (120, 80)
        small = job.output("small")
        assert (small.format, small.width, small.height) == ("png", 40, 27)
        data = client.download(small)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and _size(data) == (40, 27)
        saved = client.download_to(small, tmp_path / "small.png")
        assert saved.read_bytes() == data
        # a variant, signed with the client's key (DARKROOM_URL_SIGNING_KEY)
        variant = client.download(small, format="webp", width=20)
        assert variant[8:12] == b"WEBP" and _size(variant)[0] == 20

    delivery = wait_until(lambda: served.hooks.received, 30)[0]
    event = verify_webhook(delivery.body, delivery.headers, WEBHOOK_SECRET)
    assert event["type"] == "job.succeeded" and event["data"]["id"] == job.id


def test_bytes_and_a_server_path_in_one_job_then_a_preset(served: Served) -> None:
    (served.inputs / "shoot").mkdir()
    (served.inputs / "shoot" / "a.png").write_bytes(make_image(60, 90, "png"))
    with served.client() as client:
        job = client.submit(
            sources=[make_image(90, 60), {"path": "shoot/a.png"}],
            outputs=[{"name": "t", "width": 30}],
            placeholders=True,
        )
        job = client.wait(job, timeout=60)
        assert job.succeeded, job.raw
        assert [s.kind for s in job.sources] == ["upload", "path"]
        assert all(s.blurhash for s in job.sources)
        assert sorted((o.source, o.width) for o in job.outputs) == [(0, 30), (1, 30)]

        preset = client.wait(client.submit(make_image(80, 40), outputs=["thumb"]), timeout=60)
        assert preset.succeeded, preset.raw
        thumb = preset.output("thumb")
        assert (thumb.format, thumb.width, thumb.height) == ("png", 20, 10)


def test_variants_need_the_signing_key(served: Served) -> None:
    with served.client() as client:
        job = client.submit(
            make_image(64, 64), outputs=[{"name": "o", "op": "convert", "format": "jpeg"}], wait=30
        )
        output = job.output("o")
        assert client.download(output)[:2] == b"\xff\xd8"  # stored: no signature needed
        with pytest.raises(ApiError) as refused:
            client.download(output, width=16)
        assert (refused.value.status, refused.value.code) == (403, "invalid_signature")
        signed = sign_variant_url(output.url, {"width": 16, "format": "png"}, SIGNING_KEY)
        assert "signature=" in signed and "sig=" in signed  # the output link's own stays
        assert _size(client.download(signed)) == (16, 16)
        # anyone may fetch a signed URL: the output link opens it without a key
        with Client(served.server.url) as anonymous:
            assert _size(anonymous.download(signed)) == (16, 16)
            tampered = signed.replace("width=16", "width=17")
            with pytest.raises(ApiError, match="invalid_signature"):
                anonymous.download(tampered)


def test_an_output_in_several_formats(served: Served) -> None:
    with served.client() as client:
        spec = {"name": "o", "width": 24, "formats": ["webp", "png"]}
        output = client.submit(make_image(48, 48), outputs=[spec], wait=30).output("o")
        assert output.formats is not None
        assert [(f.format, f.width) for f in output.formats] == [("webp", 24), ("png", 24)]
        assert client.download(output, accept="image/png")[:4] == b"\x89PNG"
        assert client.download(output)[8:12] == b"WEBP"  # the first, for */*
        assert client.download(output.formats[1])[:4] == b"\x89PNG"


def test_list_with_filters_and_cursor_pages_and_idempotency(served: Served) -> None:
    with served.client() as client:
        image = make_image(32, 32)
        made = [
            client.submit(image, labels={"run": "list"}, idempotency_key=f"k{i}") for i in range(3)
        ]
        again = client.submit(image, labels={"run": "list"}, idempotency_key="k0")
        assert again.id == made[0].id
        for job in made:
            client.wait(job, timeout=60)
        first = client.list_jobs(labels={"run": "list"}, limit=2)
        assert len(first.jobs) == 2 and first.next_cursor
        rest = client.list_jobs(labels={"run": "list"}, limit=2, cursor=first.next_cursor)
        assert len(rest.jobs) == 1 and rest.next_cursor is None
        ids = [j.id for j in first.jobs + rest.jobs]
        assert sorted(ids) == sorted(j.id for j in made)
        assert [j.id for j in client.iter_jobs(labels={"run": "list"}, page_size=2)] == ids
        done = client.list_jobs(
            labels={"run": "list"}, status="succeeded", created_after=made[0].created_at
        )
        assert {j.id for j in done.jobs} <= set(ids)
        assert client.list_jobs(labels={"run": "list"}, status="failed").jobs == []


def test_wait_times_out_then_cancel_and_retry(served: Served) -> None:
    release = threading.Event()

    def slow_image(handler: http.server.BaseHTTPRequestHandler) -> None:
        release.wait(20)  # the job stays unfinished until the test lets it go
        data = make_image(32, 32)
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    served.hooks.routes["/slow.jpg"] = slow_image
    with served.client() as client:
        try:
            job = client.submit(served.hooks.url("/slow.jpg"))
            with pytest.raises(WaitTimeout) as waited:
                client.wait(job, timeout=1)
            assert waited.value.job.id == job.id and not waited.value.job.finished
            canceled = client.cancel(job)
            assert canceled.status == "canceled" and canceled.artifacts_deleted
        finally:
            release.set()

        failing = client.submit(served.hooks.url("/missing.jpg"))  # the loopback answers 404
        failed = client.wait(failing, timeout=60)
        assert failed.status == "failed" and failed.error is not None
        retried = client.retry(failed)
        assert retried.id == failed.id and retried.status in {"queued", "processing", "failed"}
        assert client.wait(retried, timeout=60).status == "failed"
        with pytest.raises(ApiError) as conflict:
            client.retry(client.submit(make_image(16, 16), wait=30))
        assert (conflict.value.status, conflict.value.code) == (409, "invalid_state")


def test_errors_are_exceptions_with_the_apis_code(served: Served) -> None:
    with served.client() as client:
        with pytest.raises(ApiError) as missing:
            client.get("no-such-job")
        assert (missing.value.status, missing.value.code) == (404, "not_found")
        with pytest.raises(ApiError) as invalid:
            client.submit(make_image(16, 16), outputs=[{"name": "x", "width": -1}])
        assert (invalid.value.status, invalid.value.code) == (422, "invalid_request")
        assert invalid.value.details and "width" in invalid.value.message
    with Client(served.server.url) as anonymous, pytest.raises(ApiError) as unauthorized:
        anonymous.list_jobs()
    assert (unauthorized.value.status, unauthorized.value.code) == (401, "missing_api_key")
    with Client(served.server.url, api_key=served.slow_key) as slow:
        slow.list_jobs()  # the one request of its burst
        with pytest.raises(ApiError) as limited:
            slow.list_jobs()
    assert (limited.value.status, limited.value.code) == (429, "rate_limited")
    assert limited.value.retry_after is not None and limited.value.retry_after > 0
    with Client(f"http://127.0.0.1:{free_port()}") as nowhere, pytest.raises(Unreachable) as down:
        nowhere.get("x")
    assert down.value.code == "unreachable" and "cannot reach darkroom" in str(down.value)


def test_async_client(served: Served, tmp_path: Path) -> None:
    async def run() -> tuple[Job, bytes, list[str], Path]:
        async with AsyncClient(
            served.server.url, api_key=served.key, signing_key=SIGNING_KEY
        ) as client:
            job = await client.submit(
                make_image(50, 50), outputs=[{"name": "a", "width": 25}], labels={"run": "async"}
            )
            job = await client.wait(job.id, timeout=60)
            data = await client.download(job.output("a"), format="png")
            listed = [j.id async for j in client.iter_jobs(labels={"run": "async"})]
            saved = await client.download_to(job.output("a"), tmp_path / "a.webp")
            return await client.get(job), data, listed, saved

    job, data, listed, saved = asyncio.run(run())
    assert job.succeeded and listed == [job.id]
    assert data[:4] == b"\x89PNG" and _size(data) == (25, 25)
    assert _size(saved.read_bytes()) == (25, 25)


def test_the_cli_takes_an_api_key(served: Served, tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(make_image(40, 40))
    common = ["--server", served.server.url, "--api-key", served.key]
    submitted = run_cli(
        "submit", "a.jpg", "-w", "10", "--wait", "--out", "out", *common, cwd=tmp_path
    )
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert _size((tmp_path / "out" / "a.default.jpg").read_bytes()) == (10, 10)
    with served.client() as client:
        job_id = client.list_jobs(limit=1).jobs[0].id
    shown = run_cli("status", job_id, "--follow", *common, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "succeeded"
