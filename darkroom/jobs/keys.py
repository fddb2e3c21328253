"""Where a job's blobs live. Keys are deterministic so a job run twice writes one result."""

from __future__ import annotations

from darkroom.imaging import OutputFormat
from darkroom.imaging.spec import extension


def job_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/"


def source_key(job_id: str, index: int) -> str:
    return f"jobs/{job_id}/sources/{index}"


def output_key(job_id: str, name: str, fmt: OutputFormat) -> str:
    return f"jobs/{job_id}/outputs/{name}.{extension(fmt)}"


def variant_key(job_id: str, name: str, variant: str, fmt: OutputFormat) -> str:
    return f"jobs/{job_id}/variants/{name}/{variant}.{extension(fmt)}"
