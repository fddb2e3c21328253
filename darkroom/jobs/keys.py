"""Where a job's blobs live. Keys are deterministic so a job run twice writes one result."""

from __future__ import annotations

from darkroom.imaging import OutputFormat
from darkroom.imaging.formats import default_output
from darkroom.imaging.spec import extension


def job_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/"


def source_key(job_id: str, index: int) -> str:
    return f"jobs/{job_id}/sources/{index}"


def output_key(job_id: str, name: str, fmt: OutputFormat) -> str:
    return f"jobs/{job_id}/outputs/{name}.{extension(fmt)}"


def planned_output_key(job_id: str, name: str, asked: str | None, source_format: str) -> str:
    """Where an output not made yet will be: in the format ``asked`` for, else in the one
    darkroom picks for a source of ``source_format`` (the source's own, where it writes
    it)."""
    fmt = OutputFormat(asked) if asked else default_output(source_format)
    return output_key(job_id, name, fmt)


def variant_key(job_id: str, name: str, variant: str, fmt: OutputFormat) -> str:
    return f"jobs/{job_id}/variants/{name}/{variant}.{extension(fmt)}"


def is_variant_key(key: str) -> bool:
    """Whether ``key`` is one variant_key makes: never a source's or an output's."""
    parts = key.split("/")
    return len(parts) == 5 and parts[0] == "jobs" and parts[2] == "variants"
