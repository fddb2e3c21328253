"""`darkroom keys` and `darkroom serve` under access control (docs/security.md), as
processes: keys made and revoked by the command are what a running server checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import darkroom_env, free_port


@pytest.fixture
def backend() -> dict[str, str]:
    """The embedded default: keys live in whichever database; the store tests cover both."""
    return {}


def darkroom(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "darkroom", *args],
        capture_output=True,
        text=True,
        env=darkroom_env(data_dir, **env),
        timeout=60,
        check=False,
    )


def test_keys_are_made_listed_and_revoked_for_a_running_server(
    serve_factory: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    made = darkroom("keys", "create", "ci", data_dir=data)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("drk_") and len(key) > 40 and "not shown again" in made.stderr
    admin = darkroom("keys", "create", "ops", "--admin", data_dir=data)
    assert admin.returncode == 0 and admin.stdout.strip() != key

    twice = darkroom("keys", "create", "ci", data_dir=data)
    assert twice.returncode == 1 and "a key named 'ci' exists already" in twice.stderr
    assert "Traceback" not in twice.stderr and twice.stdout == ""

    server = serve_factory(workers=0, data_dir=data, DARKROOM_AUTH="keys")
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/v1/jobs", headers={"Authorization": f"Bearer {key}"}).json() == {
            "jobs": [],
            "next_cursor": None,
        }
        refused = client.get("/v1/jobs")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "missing_api_key"

        revoked = darkroom("keys", "revoke", "ci", data_dir=data)
        assert revoked.returncode == 0 and "key 'ci' revoked" in revoked.stderr
        after = client.get("/v1/jobs", headers={"X-API-Key": key})
        assert after.status_code == 401 and after.json()["error"]["code"] == "invalid_api_key"

    listed = darkroom("keys", "list", data_dir=data)
    assert listed.returncode == 0
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:5] == ["NAME", "PREFIX", "ADMIN", "CREATED", "REVOKED"]
    by_name = {row.split()[0]: row.split() for row in rows}
    assert by_name["ci"][1:3] == [key[:8], "no"] and by_name["ci"][4] != "-"
    assert by_name["ops"][2] == "yes" and by_name["ops"][4] == "-"
    assert key not in listed.stdout  # the key itself is never shown again

    unknown = darkroom("keys", "revoke", "nobody", data_dir=data)
    assert unknown.returncode == 1 and "no key named 'nobody'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_serve_off_loopback_needs_darkroom_auth(tmp_path: Path) -> None:
    """Refused before anything binds: nothing listens on 0.0.0.0 in this test."""
    result = darkroom(
        "serve", "--host", "0.0.0.0", "--port", str(free_port()), "--workers", "0",
        data_dir=tmp_path / "data",
    )  # fmt: skip
    assert result.returncode == 2  # a usage error
    assert "DARKROOM_AUTH is unset and the API would listen on 0.0.0.0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # stopped before opening anything
