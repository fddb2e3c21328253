"""An in-process darkroom under DARKROOM_AUTH=keys, with the store its keys are made in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from darkroom.store import open_engine
from darkroom.store.api_keys import ApiKeyStore
from tests.inprocess import InProcessDarkroom

ADMIN_TOKEN = "root-token"


@contextmanager
def keyed_api(
    api_factory: Callable[..., InProcessDarkroom], workers: int
) -> Iterator[tuple[InProcessDarkroom, ApiKeyStore]]:
    """An API asking for keys (DARKROOM_ADMIN_TOKEN: ``ADMIN_TOKEN``) and its key store."""
    api = api_factory(workers=workers, DARKROOM_AUTH="keys", DARKROOM_ADMIN_TOKEN=ADMIN_TOKEN)
    engine = open_engine(api.settings.resolved_database_url())
    try:
        yield api, ApiKeyStore(engine)
    finally:
        engine.dispose()


def as_key(key: str) -> dict[str, str]:
    """The headers of a request sent with ``key``."""
    return {"Authorization": f"Bearer {key}"}
