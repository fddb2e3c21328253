"""The imagejobs dialect's table (seed 001's image_jobs collection, kept as that system
has it) and its migrations, applied only where the dialect is enabled, with their own
version table. The core's schema knows nothing of it."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

from darkroom.store.migrate import Schema

metadata = MetaData()

image_jobs = Table(
    "image_jobs",
    metadata,
    Column("id", String(24), primary_key=True),  # as a MongoDB ObjectId: 24 hex digits
    Column("entity_type", String(16), nullable=False),
    Column("entity_id", String(256), nullable=False),
    Column("source_key", Text, nullable=False),
    Column("source_url", Text, nullable=False),
    Column("output_key", Text),
    Column("output_url", Text),
    Column("status", String(16), nullable=False),
    Column("error_msg", Text, nullable=False, default=""),
    Column("original_filename", Text, nullable=False),
    Column("mimetype", String(128), nullable=False),
    Column("file_size", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("processed_at", Float),
    Index("ix_image_jobs_entity", "entity_type", "entity_id"),
    Index("ix_image_jobs_status", "status"),
)

SCHEMA = Schema("darkroom.dialects:imagejobs_schema", metadata, "alembic_version_imagejobs")
