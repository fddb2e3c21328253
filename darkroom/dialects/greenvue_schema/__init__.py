"""The greenvue dialect's tables (seed 002): listing images waiting for its batch
processor, and its scheduled jobs; and their migrations, applied only where the dialect
is enabled, with their own version table. The core's schema knows nothing of them."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

from darkroom.store.migrate import Schema

metadata = MetaData()

listing_images = Table(
    "listing_images",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("listing_title", Text, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("source_key", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("retries", Integer, nullable=False, default=0),
    Column("error", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("processed_at", Float),
    Column("lease_expires_at", Float),
    Index("ix_listing_images_status", "status", "created_at"),
)

background_jobs = Table(
    "background_jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("type", String(32), nullable=False),
    Column("interval_s", Float, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("last_run_at", Float),
)

SCHEMA = Schema("darkroom.dialects:greenvue_schema", metadata, "alembic_version_greenvue")
