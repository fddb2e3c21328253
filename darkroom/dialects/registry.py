"""Which dialects a deployment speaks (DARKROOM_DIALECTS) and how they are wired in."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from darkroom.config import Settings
from darkroom.dialects.base import DIALECT_LABEL, Dialect, Service
from darkroom.dialects.greenvue import GreenVue
from darkroom.dialects.imagejobs import ImageJobs
from darkroom.dialects.imageproc import ImageProc
from darkroom.dialects.smartcrop import SmartCrop
from darkroom.dialects.thumbforge import ThumbForge
from darkroom.jobs.effects import EffectHandler
from darkroom.service import JobService
from darkroom.store.migrate import Schema
from darkroom.webhooks.body import BodyBuilder

KNOWN: dict[str, Callable[[Mapping[str, str]], Dialect]] = {
    "smartcrop": SmartCrop,
    "imagejobs": ImageJobs,
    "greenvue": GreenVue,
    "imageproc": ImageProc,
    "thumbforge": ThumbForge,
}
# The seeds' numbers name them too.
BY_SEED = {
    "000": "smartcrop",
    "001": "imagejobs",
    "002": "greenvue",
    "003": "imageproc",
    "004": "thumbforge",
}


class DialectConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Enabled:
    dialect: Dialect
    prefix: str


def enabled(spec: str, environ: Mapping[str, str]) -> list[Enabled]:
    """``spec``: comma-separated names (or seed numbers), each optionally ``@/prefix``."""
    found: list[Enabled] = []
    for entry in (part.strip() for part in spec.split(",")):
        if not entry:
            continue
        name, _, prefix = entry.partition("@")
        name = BY_SEED.get(name.strip(), name.strip().lower())
        if name not in KNOWN:
            known = ", ".join(f"{n} ({s})" for s, n in BY_SEED.items())
            raise DialectConfigError(f"unknown dialect {name!r} in DARKROOM_DIALECTS: {known}")
        if any(e.dialect.name == name for e in found):
            raise DialectConfigError(f"dialect {name!r} is named twice in DARKROOM_DIALECTS")
        dialect = KNOWN[name](environ)
        prefix = prefix.strip().rstrip("/") if prefix else dialect.default_prefix
        if prefix and not prefix.startswith("/"):
            raise DialectConfigError(f"dialect prefix must start with '/': {entry!r}")
        found.append(Enabled(dialect, prefix))
    return found


def with_seed_settings(settings: Settings, dialects: Sequence[Enabled]) -> Settings:
    """``settings`` with what the dialects' own variables (PORT, WORKER_POOL_SIZE, …) say,
    where no DARKROOM_ variable said otherwise."""
    overrides: dict[str, Any] = {}
    for entry in dialects:
        for name, value in entry.dialect.settings().items():
            if value is not None and name not in settings.model_fields_set:
                overrides[name] = value
    if not overrides:
        return settings
    return Settings.model_validate({**settings.model_dump(exclude_unset=True), **overrides})


def install(app: FastAPI, dialects: Sequence[Enabled]) -> set[tuple[str, str]]:
    """Add the dialects' routes; return the (method, path) pairs they answer. Two dialects
    may not answer the same route. Include them before darkroom's own routers, which
    should leave out what they answer (``unclaimed``). The dialects are kept in
    ``app.state.dialects`` by name, where their routes' dependencies find them
    (base.enabled_dialect)."""
    app.state.dialects = {entry.dialect.name: entry.dialect for entry in dialects}
    claimed: dict[tuple[str, str], str] = {}
    for entry in dialects:
        for mounted in entry.dialect.routers(entry.prefix):
            for route in mounted.router.routes:
                if isinstance(route, APIRoute):
                    path = mounted.prefix + route.path
                    for method in route.methods or ():
                        other = claimed.setdefault((method, path), entry.dialect.name)
                        if other != entry.dialect.name:
                            raise DialectConfigError(
                                f"dialects {other} and {entry.dialect.name} both answer "
                                f"{method} {path}; give one a prefix "
                                f"(DARKROOM_DIALECTS={entry.dialect.name}@/prefix)"
                            )
            app.include_router(mounted.router, prefix=mounted.prefix)
    return set(claimed)


def unclaimed(router: APIRouter, claimed: set[tuple[str, str]]) -> APIRouter:
    """``router`` without the routes a dialect answers (``/healthz`` under smartcrop)."""
    kept = APIRouter()
    for route in router.routes:
        if isinstance(route, APIRoute) and any(
            (method, route.path) in claimed for method in route.methods or ()
        ):
            continue
        kept.routes.append(route)
    return kept


def schemas(dialects: Sequence[Enabled]) -> list[Schema]:
    """The dialects' own schemas, migrated where they are enabled."""
    return [e.dialect.schema for e in dialects if e.dialect.schema is not None]


def background_services(dialects: Sequence[Enabled], service: JobService) -> list[Service]:
    """What the dialects run in every darkroom process (they only submit jobs)."""
    return [s for entry in dialects for s in entry.dialect.background(service)]


def effect_handlers(dialects: Sequence[Enabled], service: JobService) -> dict[str, EffectHandler]:
    """Per effect name, what carries it out for the dialects' jobs."""
    return {
        name: handler
        for entry in dialects
        for name, handler in entry.dialect.effects(service).items()
    }


def webhook_bodies(dialects: Sequence[Enabled]) -> dict[str, BodyBuilder]:
    """Per dialect name, what builds the webhook body of its jobs (those whose dialect
    label names it)."""
    return {entry.dialect.name: entry.dialect.webhook_body for entry in dialects}


__all__ = [
    "DIALECT_LABEL",
    "DialectConfigError",
    "Enabled",
    "effect_handlers",
    "enabled",
    "install",
    "webhook_bodies",
    "with_seed_settings",
]
