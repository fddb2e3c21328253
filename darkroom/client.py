"""A small synchronous client of the native HTTP API (used by the CLI)."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"succeeded", "failed", "canceled"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if status == 0 else f"{status} {code}: {message}")
        self.status = status
        self.code = code


def _check(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        try:
            err = resp.json()["error"]
            raise ApiError(resp.status_code, err["code"], err["message"])
        except (ValueError, KeyError, TypeError):
            raise ApiError(resp.status_code, "http_error", resp.text[:200]) from None
    return resp.json()


class DarkroomClient:
    def __init__(self, base_url: str, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(
                0, "unreachable", f"cannot reach darkroom at {self.base_url}: {exc}"
            ) from exc

    def close(self) -> None:
        self.http.close()

    def submit_file(self, path: Path, options: dict[str, Any]) -> dict[str, Any]:
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with path.open("rb") as f:
            resp = self._send(
                "POST",
                "/v1/jobs",
                files={"file": (path.name, f, mime)},
                data={"spec": json.dumps(options)},
            )
        result: dict[str, Any] = _check(resp)
        return result

    def submit_url(self, url: str, options: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = _check(
            self._send("POST", "/v1/jobs", json={"source": {"url": url}, **options})
        )
        return result

    def job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = _check(self._send("GET", f"/v1/jobs/{job_id}"))
        return result

    def download(self, url: str) -> bytes:
        resp = self._send("GET", url)
        if resp.status_code >= 400:
            _check(resp)
        return resp.content
