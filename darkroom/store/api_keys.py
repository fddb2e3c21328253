"""API keys and the shared secret of output links, kept in the database so that every API
process (on PostgreSQL, every machine) knows them.

A key is shown once, when it is made; only its SHA-256 is stored. A plain hash is enough
here, unlike for passwords: a key is 256 random bits, so there is nothing to guess from a
leaked hash, and a slow hash would only slow every request (docs/security.md)."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from darkroom.store.database import reader_of
from darkroom.store.tables import api_keys, auth_secrets

KEY_PREFIX = "drk_"
SHOWN_CHARS = 8  # "drk_" and four characters of the key: tells keys apart, reveals nothing
LINK_SECRET = "output_links"


class KeyNameTaken(ValueError):
    pass


class UnknownKey(LookupError):
    pass


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    admin: bool
    created_at: float
    revoked_at: float | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = reader_of(engine)

    def create(self, name: str, *, admin: bool = False) -> tuple[ApiKey, str]:
        """A new key named ``name``: its record and the key itself, which is not kept."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(
            id=str(uuid.uuid4()),
            name=name,
            prefix=secret[:SHOWN_CHARS],
            admin=admin,
            created_at=time.time(),
            revoked_at=None,
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(api_keys).values(
                        id=record.id,
                        name=name,
                        prefix=record.prefix,
                        key_hash=key_hash(secret),
                        admin=admin,
                        created_at=record.created_at,
                    )
                )
        except IntegrityError as exc:
            raise KeyNameTaken(f"a key named {name!r} exists already") from exc
        return record, secret

    def list(self) -> list[ApiKey]:
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(*_COLUMNS).order_by(api_keys.c.created_at, api_keys.c.name)
            ).all()
        return [ApiKey(*row) for row in rows]

    def revoke(self, name: str) -> ApiKey:
        """Revoke the key named ``name`` (again: a no-op); UnknownKey if there is none."""
        with self.engine.begin() as conn:
            conn.execute(
                update(api_keys)
                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            row = conn.execute(select(*_COLUMNS).where(api_keys.c.name == name)).first()
        if row is None:
            raise UnknownKey(f"no key named {name!r}")
        return ApiKey(*row)

    def verify(self, key: str) -> ApiKey | None:
        """The key's record if ``key`` is a key that has not been revoked, else None."""
        with self.reader.connect() as conn:
            row = conn.execute(
                select(*_COLUMNS).where(
                    api_keys.c.key_hash == key_hash(key), api_keys.c.revoked_at.is_(None)
                )
            ).first()
        return ApiKey(*row) if row else None

    def link_secret(self) -> bytes:
        """The key that signs output links: made at random by the first process that asks,
        then the same for every process."""
        with self.reader.connect() as conn:
            value = conn.execute(
                select(auth_secrets.c.value).where(auth_secrets.c.name == LINK_SECRET)
            ).scalar()
        if value is None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(auth_secrets).values(
                            name=LINK_SECRET, value=secrets.token_hex(32), created_at=time.time()
                        )
                    )
            except IntegrityError:
                pass  # another process made it first: read theirs
            return self.link_secret()
        return bytes.fromhex(value)


_COLUMNS = (
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.prefix,
    api_keys.c.admin,
    api_keys.c.created_at,
    api_keys.c.revoked_at,
)
