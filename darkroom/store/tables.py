"""Table definitions as the code queries them; migrations/ creates them (a test compares)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("available_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("progress", Integer, nullable=False, default=0),
    Column("spec", JSON, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("source_facts", JSON),
    Column("source_sha256", String(64)),
    Column("outputs", JSON),
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("labels", JSON, nullable=False),
    Column("idempotency_key", String(200), unique=True),
    Column("request_hash", String(64)),
    Column("webhook_url", Text),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", Float),
    Column("artifacts_deleted", Boolean, nullable=False, default=False),
    Column("retention_s", Integer),  # keep results this long after finishing; null: forever
    Column("expires_at", Float),  # set when the job finishes, if it has a retention
    Column("expired_at", Float),  # when the sweeper deleted its artifacts
    Column("effects", JSON),  # names of the effects its outcome has (job_effects); null: none
    Column("owner", String(36)),  # the id of the API key that submitted it; null: none
    Index("ix_jobs_claim", "status", "available_at", "created_at"),
    Index("ix_jobs_created", "created_at", "id"),
    Index("ix_jobs_status_created", "status", "created_at"),
    Index("ix_jobs_source_sha256", "source_sha256"),
    Index("ix_jobs_lease_owner", "lease_owner"),
    Index("ix_jobs_expires_at", "expires_at"),
    Index("ix_jobs_owner_created", "owner", "created_at"),
)

job_labels = Table(
    "job_labels",
    metadata,
    Column("job_id", String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
    Index("ix_job_labels_kv", "key", "value"),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
)

# One delivery per finished job with a webhook: the latest outcome, retried until it is
# delivered or out of attempts. Sent by the webhook sender of any darkroom process.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("job_id", String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("message_id", String(64), nullable=False),  # webhook-id, the same on every retry
    Column("event", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", Float),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("last_attempt_at", Float),
    Column("delivered_at", Float),
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
)

# What a finished job's outcome must still cause besides a webhook: one row per effect a
# job names (a dialect updating its system's record), written with the outcome and carried
# out by the effect sender of any darkroom process (darkroom/outbox).
job_effects = Table(
    "job_effects",
    metadata,
    Column("job_id", String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("effect", String(32), primary_key=True),  # the handler's name: a dialect's
    Column("status", String(16), nullable=False),  # the job's status it follows
    Column("state", String(16), nullable=False),  # pending, delivered (done), failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", Float),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("last_attempt_at", Float),
    Column("done_at", Float),
    Index("ix_job_effects_due", "state", "next_attempt_at"),
)

# API keys (DARKROOM_AUTH=keys): only a SHA-256 of each key is kept (store/api_keys.py).
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # the key's first characters, to tell it
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("admin", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
    Column("rate_per_s", Float),  # the token bucket's refill; NULL: no rate limit
    Column("burst", Integer),  # the bucket's size
    Column("max_queued", Integer),  # the key's jobs queued at most; NULL: no quota
    Column("tokens", Float),  # the bucket at tokens_at; NULL: full
    Column("tokens_at", Float),
)

# Secrets every API process must share, made once by whichever needs one first: the key
# that signs output links.
auth_secrets = Table(
    "auth_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
)
