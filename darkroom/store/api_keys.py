"""API keys and the shared secret of output links, kept in the database so that every API
process (on PostgreSQL, every machine) knows them.

A key is shown once, when it is made; only its SHA-256 is stored. A plain hash is enough
here, unlike for passwords: a key is 256 random bits, so there is nothing to guess from a
leaked hash, and a slow hash would only slow every request (docs/security.md).

A key may have a rate limit, a token bucket kept in its row so that every API process
draws from the same one: ``take`` refills and takes a token in a single UPDATE, which the
database applies one at a time per row (PostgreSQL's row lock, re-reading the row a
concurrent UPDATE changed; SQLite's one writer)."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, case, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from darkroom.store.database import reader_of
from darkroom.store.job_statements import queued_count
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
    rate_per_s: float | None = None  # the token bucket's refill; None: no rate limit
    burst: int | None = None  # the bucket's size
    max_queued: int | None = None  # the key's jobs queued at most; None: no quota

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class Limits:
    """A key's limits: ``rate_per_s`` requests a second with bursts of ``burst``, and
    ``max_queued`` jobs queued at once; each None where there is none."""

    rate_per_s: float | None = None
    burst: int | None = None
    max_queued: int | None = None

    def __post_init__(self) -> None:
        if self.rate_per_s is not None and not (
            self.rate_per_s > 0 and math.isfinite(self.rate_per_s)
        ):
            raise ValueError("the rate must be a number of requests a second above 0")
        if self.burst is not None and (self.rate_per_s is None or self.burst < 1):
            raise ValueError("the burst must be at least 1, and comes with a rate")
        if self.max_queued is not None and self.max_queued < 1:
            raise ValueError("max queued must be at least 1")

    @property
    def bucket(self) -> int | None:
        """The bucket's size: the burst given, else the rate rounded up (at least 1)."""
        if self.rate_per_s is None:
            return None
        return self.burst if self.burst is not None else max(1, math.ceil(self.rate_per_s))


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = reader_of(engine)

    def create(
        self, name: str, *, admin: bool = False, limits: Limits = Limits()
    ) -> tuple[ApiKey, str]:
        """A new key named ``name``: its record and the key itself, which is not kept."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(
            id=str(uuid.uuid4()),
            name=name,
            prefix=secret[:SHOWN_CHARS],
            admin=admin,
            created_at=time.time(),
            revoked_at=None,
            rate_per_s=limits.rate_per_s,
            burst=limits.bucket,
            max_queued=limits.max_queued,
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
                        rate_per_s=record.rate_per_s,
                        burst=record.burst,
                        max_queued=record.max_queued,
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

    def take(self, key: ApiKey, now: float | None = None) -> float:
        """Take a token from the rate-limited ``key``'s bucket: 0 when taken, else the
        seconds until one is there. The bucket refills at the key's rate up to its size
        from its last use; a clock behind the last use refills nothing and leaves
        ``tokens_at`` where it is, so clocks that differ between machines never give more."""
        assert key.rate_per_s is not None and key.burst is not None
        now = time.time() if now is None else now
        c = api_keys.c
        then = func.coalesce(c.tokens_at, now)
        elapsed = case((then < now, literal(now) - then), else_=0.0)
        refilled = func.coalesce(c.tokens, c.burst) + elapsed * c.rate_per_s
        available = case((refilled > c.burst, c.burst), else_=refilled)
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(api_keys)
                .where(c.id == key.id, c.rate_per_s.is_not(None), available >= 1)
                .values(tokens=available - 1, tokens_at=case((then < now, now), else_=then))
                .returning(c.tokens)
            ).first()
            if taken is not None:
                return 0.0
            row = conn.execute(
                select(available, c.rate_per_s).where(c.id == key.id, c.rate_per_s.is_not(None))
            ).first()
        if row is None:  # the limit was lifted meanwhile
            return 0.0
        tokens, rate = row
        return max(0.0, (1 - float(tokens)) / float(rate))

    def queued(self, key_id: str) -> int:
        """How many of the key's jobs wait in the queue."""
        with self.reader.connect() as conn:
            return int(conn.execute(queued_count(key_id)).scalar() or 0)

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
    api_keys.c.rate_per_s,
    api_keys.c.burst,
    api_keys.c.max_queued,
)
