"""Who may open the dashboard (docs/security.md): with DARKROOM_AUTH=keys, an admin key;
with ``none``, anyone on the loopback, or DARKROOM_ADMIN_TOKEN when that is set.

A browser cannot add an Authorization header to a page it navigates to, so the key is
given once in the login form and kept in a cookie the page's script cannot read
(HttpOnly), sent only to /dashboard (Path) and only from darkroom's own pages
(SameSite=Strict). The dashboard's requests to the API go through /dashboard/api, which
adds the key as the Authorization header (dashboard/forward.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from darkroom.api.auth import Access
from darkroom.jobs.errors import ServiceError

COOKIE = "darkroom_dashboard"
PATH = "/dashboard"


def login_needed(access: Access) -> bool:
    return access.mode == "keys" or bool(access.admin_token)


def is_admin_key(access: Access, key: str | None) -> bool:
    """Whether ``key`` opens the dashboard (blocking: with keys, a database read)."""
    if not key:
        return False
    if access.mode == "none":
        return access.is_admin_token(key)
    try:
        return access.caller(key).admin
    except ServiceError:  # not a key, revoked, or rate-limited
        return False


async def signed_in(request: Request) -> str | None:
    """The key the dashboard's cookie holds when it opens the dashboard; None when none
    is needed. 401 otherwise."""
    access: Access = request.app.state.access
    if not login_needed(access):
        return None
    key = request.cookies.get(COOKIE)
    if await run_in_threadpool(is_admin_key, access, key):
        return key
    raise ServiceError(
        "sign in to the dashboard with an admin key", code="unauthorized", status_code=401
    )


DashboardKey = Annotated[str | None, Depends(signed_in)]


def keep_key(response: Response, request: Request, key: str) -> None:
    secure = request.url.scheme == "https" or request.headers.get(
        "x-forwarded-proto", ""
    ).startswith("https")
    response.set_cookie(COOKIE, key, path=PATH, httponly=True, samesite="strict", secure=secure)


def forget_key(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
