from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DarkroomProcess, LoopbackServer, darkroom_env, free_port
from tests.inprocess import InProcessDarkroom, in_process_factory
from tests.onnx_models import candidates_model
from tests.servers import S3, Postgres, Redis
from tests.yolo_models import YOLO_EXTRA, build_model


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    server = Postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: Postgres) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return postgres.new_database()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    server = S3()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3: S3) -> dict[str, str]:
    """A fresh bucket, as the variables that point darkroom at it."""
    return {**s3.env, "DARKROOM_STORAGE_URL": f"s3://{s3.new_bucket()}/darkroom"}


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    server = Redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_env(redis_server: Redis) -> dict[str, str]:
    """The shared Redis with a stream of this test's own."""
    return {
        "DARKROOM_BROKER_URL": redis_server.url,
        "DARKROOM_BROKER_STREAM": redis_server.new_stream(),
    }


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-redis-s3"])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """The engines a started darkroom uses, as DARKROOM_* variables: every end-to-end test
    runs once per combination. A module narrows the list with
    ``pytestmark = pytest.mark.parametrize("backend", [...], indirect=True)``."""
    if request.param == "sqlite":
        return {}  # the embedded default: SQLite and a local folder under the data dir
    env = {"DARKROOM_DATABASE_URL": request.getfixturevalue("postgres_url")}
    if request.param == "postgresql-redis-s3":
        env |= request.getfixturevalue("redis_env") | request.getfixturevalue("s3_env")
    return env


@pytest.fixture
def serve_factory(tmp_path: Path, backend: dict[str, str]) -> Iterator[object]:
    started: list[DarkroomProcess] = []

    def start(
        workers: int = 1, data_dir: Path | None = None, wait_workers: int | None = None, **env: str
    ) -> DarkroomProcess:
        port = free_port()
        proc = DarkroomProcess(
            args=["serve", "--port", str(port), "--workers", str(workers)],
            env=darkroom_env(data_dir or tmp_path / "data", **{**backend, **env}),
            log_path=tmp_path / f"serve-{port}.log",
            port=port,
        )
        started.append(proc)
        return proc.start(wait_workers=workers if wait_workers is None else wait_workers)

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def api_factory(tmp_path: Path, backend: dict[str, str]) -> Iterator[object]:
    """Like serve_factory, the application in this process (tests/inprocess.py): for tests
    of what the API answers, where processes do not matter."""
    yield from in_process_factory(tmp_path, backend)


@pytest.fixture
def api(api_factory: object) -> InProcessDarkroom:
    started: InProcessDarkroom = api_factory(workers=2)  # type: ignore[operator]
    return started


@pytest.fixture
def server(serve_factory: object) -> DarkroomProcess:
    proc: DarkroomProcess = serve_factory(workers=2)  # type: ignore[operator]
    return proc


@pytest.fixture(scope="session")
def yolo_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random-weight YOLO models: "objects" (80 classes named "0" to "79"), "text" (class 0 named
    "speech bubble") and "classify" (a classifier, which gives no boxes)."""
    pytest.importorskip("ultralytics", reason=YOLO_EXTRA)
    folder = tmp_path_factory.mktemp("yolo")
    return {
        "objects": build_model("yolov8n.yaml", folder / "objects.pt"),
        "text": build_model("yolov8n.yaml", folder / "text.pt", first_class="speech bubble"),
        "classify": build_model("yolov8n-cls.yaml", folder / "classify.pt"),
    }


@pytest.fixture(scope="session")
def onnx_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """YOLO-shaped ONNX models with known answers (tests/onnx_models.py): "objects" finds a
    person near the right edge of any picture; "text" finds two speech bubbles."""
    folder = tmp_path_factory.mktemp("onnx")
    return {
        "objects": candidates_model(
            folder / "objects.onnx", [(56, 32, 8, 8, 1, 0.9)], {0: "speech bubble", 1: "person"}
        ),
        "text": candidates_model(
            folder / "text.onnx",
            [(16, 16, 12, 8, 0, 0.8), (48, 40, 12, 8, 0, 0.7)],
            {0: "speech bubble", 1: "person"},
        ),
    }
