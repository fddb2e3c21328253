"""Access control of the native API (DARKROOM_AUTH, docs/security.md): who is calling.

With ``keys``, each native route but the health checks and the docs needs an API key
(``Authorization: Bearer <key>`` or ``X-API-Key: <key>``); a key sees only the jobs it
submitted, an admin key (or DARKROOM_ADMIN_TOKEN) sees every job and alone may call
``/v1/admin/*``. With ``none``, everyone sees every job and ``/v1/admin/*`` needs
DARKROOM_ADMIN_TOKEN when that is set, as before keys existed. The dialects' routes keep
their systems' own checks and take no part in this.

A key may be rate-limited (a token bucket in its database row, shared by every API
process: 429 ``rate_limited``) and have a quota of queued jobs (429 ``quota_exceeded`` at
submission); DARKROOM_ADMIN_TOKEN never is."""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from darkroom.api.output_links import LinkSigner
from darkroom.config import Settings
from darkroom.jobs.errors import QuotaExceeded, ServiceError
from darkroom.store.api_keys import ApiKeyStore


class Unauthorized(ServiceError):
    status_code = 401
    code = "invalid_api_key"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class RateLimited(ServiceError):
    """The key's rate limit is reached: try again after ``retry_after_s`` seconds
    (rounded up, at least 1), which the answer's Retry-After says."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))}


@dataclass(frozen=True)
class Caller:
    """Who sent a request. ``owner``: the key a job it submits belongs to; ``admin``:
    it sees every job. ``signer``: signs output links in answers (with keys only)."""

    owner: str | None = None
    admin: bool = False
    signer: LinkSigner | None = None
    max_queued: int | None = None  # the key's quota of queued jobs; None: none

    @property
    def scope(self) -> str | None:
        """Whose jobs it sees: the key's own, or None for everyone's."""
        return None if self.admin else self.owner


OPEN = Caller()  # DARKROOM_AUTH=none: no owner, every job


class Access:
    """The API process's access control, in app.state.access."""

    def __init__(self, settings: Settings, keys: ApiKeyStore) -> None:
        self.mode: Literal["keys", "none"] = settings.auth_mode()
        self.admin_token = settings.admin_token
        self.keys = keys
        self.link_ttl_s = settings.output_link_ttl_s
        self._signer: LinkSigner | None = None

    def signer(self) -> LinkSigner:
        if self._signer is None:  # read once: the secret never changes
            self._signer = LinkSigner(self.keys.link_secret(), self.link_ttl_s)
        return self._signer

    def is_admin_token(self, presented: str) -> bool:
        return bool(self.admin_token) and hmac.compare_digest(
            presented.encode(), (self.admin_token or "").encode()
        )

    def caller(self, key: str | None) -> Caller:
        """The caller a key names (blocking: a database read); 401 without a valid one."""
        if not key:
            raise Unauthorized(
                "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>",
                code="missing_api_key",
            )
        if self.is_admin_token(key):
            return Caller(admin=True, signer=self.signer())
        record = self.keys.verify(key)
        if record is None:
            raise Unauthorized("the API key is not valid, or was revoked")
        if record.rate_per_s is not None and (wait := self.keys.take(record)) > 0:
            raise RateLimited(
                f"this key may send {record.rate_per_s:g} requests a second "
                f"(bursts of {record.burst}); try again later",
                wait,
            )
        return Caller(
            owner=record.id,
            admin=record.admin,
            signer=self.signer(),
            max_queued=record.max_queued,
        )

    def check_quota(self, caller: Caller) -> None:
        """429 quota_exceeded when the caller's key has as many jobs queued as it may
        (blocking: a database read), before anything sent is read or stored. The count
        that holds is the one made again as the job is inserted (JobService.submit)."""
        if caller.max_queued is None or caller.owner is None:
            return
        if self.keys.queued(caller.owner) >= caller.max_queued:
            raise QuotaExceeded(caller.max_queued)


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


def _presented(bearer: HTTPAuthorizationCredentials | None, api_key: str | None) -> str | None:
    return api_key or (bearer.credentials if bearer is not None else None)


async def _caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Caller:
    access: Access = request.app.state.access
    if access.mode == "none":
        return OPEN
    return await run_in_threadpool(access.caller, _presented(bearer, api_key))


async def _admin(request: Request, caller: Annotated[Caller, Depends(_caller)]) -> Caller:
    access: Access = request.app.state.access
    if access.mode == "none":
        token = access.admin_token
        if token and request.headers.get("authorization") != f"Bearer {token}":
            raise ServiceError("admin token required", code="unauthorized", status_code=401)
        return OPEN
    if not caller.admin:
        raise ServiceError("this route needs an admin key", code="admin_required", status_code=403)
    return caller


async def _output_caller(
    request: Request,
    job_id: str,
    name: str,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
    expires: Annotated[
        str | None, Query(description="With `sig`: a signed link's expiry (Unix seconds).")
    ] = None,
    sig: Annotated[
        str | None, Query(description="A signed link's signature, as the job's `url` gives it.")
    ] = None,
) -> Caller:
    """An output is fetched with a key (its owner's, or an admin's), or without one by a
    signed link; a key, when sent, is what counts."""
    access: Access = request.app.state.access
    if access.mode == "none":
        return OPEN
    key = _presented(bearer, api_key)
    if key is None and (expires is not None or sig is not None):
        signer = await run_in_threadpool(access.signer)
        signer.check(job_id, name, expires, sig)  # 403 invalid_signature, link_expired
        return Caller(admin=True)  # the link opens this output, whoever owns the job
    return await run_in_threadpool(access.caller, key)


CallerDep = Annotated[Caller, Depends(_caller)]
AdminDep = Annotated[Caller, Depends(_admin)]
OutputCallerDep = Annotated[Caller, Depends(_output_caller)]
