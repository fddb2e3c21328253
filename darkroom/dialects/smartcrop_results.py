"""How seed 000's service described a job (the smartcrop dialect): its status word, its
links, its result or error, and the body of its webhook."""

from __future__ import annotations

from typing import Any

import orjson

from darkroom.dialects.base import rfc3339
from darkroom.dialects.smartcrop_request import (
    BASE_LABEL,
    MODE_LABEL,
    OUTPUT,
    PAIR_MODE,
    SINGLE_MODE,
    skipped_paths,
)
from darkroom.jobs.model import Job
from darkroom.jobs.records import CropRecord, OutputRecord
from darkroom.jobs.status import JobStatus
from darkroom.service import JobService

STATUS = {
    JobStatus.QUEUED: "queued",
    JobStatus.PROCESSING: "processing",
    JobStatus.SUCCEEDED: "done",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "failed",
}
EVENT = "thumbnail.job.completed"


def links(job: Job) -> tuple[str, str]:
    job_url = f"{job.labels.get(BASE_LABEL, '')}/job/{job.id}"
    return job_url, f"{job_url}/image"


def _names(job: Job) -> list[str]:
    """Each source as the client named it: its path, or its file's name."""
    return [
        (s["path"] if s["kind"] == "path" else None) or s["filename"] or f"upload-{i + 1:03d}"
        for i, s in enumerate(job.sources)
    ]


def job_result(job: Job, image_url: str) -> dict[str, Any] | None:
    """The service's ``result``, with ``skipped_paths`` and ``skipped_count`` added when
    server paths that named no file were dropped."""
    if not job.status.finished:
        return None
    result = _outcome(job, image_url)
    listed, count = skipped_paths(job)
    if count:
        result["skipped_paths"] = listed
        result["skipped_count"] = count
    return result


def _outcome(job: Job, image_url: str) -> dict[str, Any]:
    mode = job.labels.get(MODE_LABEL, PAIR_MODE)
    output = job.output(OUTPUT) if job.status is JobStatus.SUCCEEDED else None
    if output is None:
        error = job_error(job) or "failed"
        return {
            "crop_x": 0,
            "crop_y": 0,
            "crop_width": 0,
            "crop_height": 0,
            "method": "",
            "confidence": 0,
            "applied": False,
            "crop_error": error,
            "composition_mode": mode,
        }
    names = _names(job)
    wants_candidates = bool(job.spec["outputs"][0].get("return_candidates"))
    if "pair" in output:
        return _pair_result(output, names, image_url, wants_candidates)
    crop = output.get("crop") or _uncropped(output)
    return {
        "crop_x": crop["x"],
        "crop_y": crop["y"],
        "crop_width": crop["width"],
        "crop_height": crop["height"],
        "method": crop["method"],
        "confidence": crop["confidence"] or 0,
        "applied": True,
        "output_path": image_url,
        "composition_mode": SINGLE_MODE,
        "composed_from": names[:1],
        "selected_page_index": 0,
        "selected_image_path": names[0],
    }


def _uncropped(output: OutputRecord) -> CropRecord:
    return {
        "x": 0,
        "y": 0,
        "width": output["width"],
        "height": output["height"],
        "method": "",
        "confidence": None,
    }


def _pair_result(
    output: OutputRecord, names: list[str], image_url: str, wants_candidates: bool
) -> dict[str, Any]:
    pair = output["pair"]
    picked = pair["picked"]
    best = picked[0]
    result: dict[str, Any] = {
        "crop_x": 0,
        "crop_y": 0,
        "crop_width": output["width"],
        "crop_height": output["height"],
        "method": PAIR_MODE,
        "confidence": 1,
        "applied": True,
    }
    if pair.get("fallback_used"):
        result["fallback_used"] = True
    result["output_path"] = image_url
    if pair.get("warning"):
        result["worker_warning"] = pair["warning"]
    result |= {
        "composition_mode": PAIR_MODE,
        "composed_from": [names[p["index"]] for p in picked],
        "selected_page_index": best["index"],
        "selected_image_path": names[best["index"]],
        "selected_score": best["score"],
        "picked": picked,
    }
    if wants_candidates:
        result["candidates"] = [
            {
                "page_index": c["index"],
                "image_path": names[c["index"]],
                "crop_x": c["box"]["x"],
                "crop_y": c["box"]["y"],
                "crop_width": c["box"]["width"],
                "crop_height": c["box"]["height"],
                "method": "smart-thumb",
                "confidence": round(min(1.0, max(0.0, 1 - c["text_ratio"])), 4),
                "score": c["score"],
                "text_ratio": c["text_ratio"],
                "in_edge": c["in_edge"],
            }
            for c in pair.get("candidates") or picked
        ]
    return result


def job_error(job: Job) -> str | None:
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELED):
        return None
    if job.status is JobStatus.CANCELED:
        return "canceled"
    return f"{job.error_code}: {job.error_message}" if job.error_code else job.error_message


def pending_counts(service: JobService) -> tuple[int, int]:
    """Jobs queued, and jobs processing, across darkroom."""
    stats = service.stats()
    return stats.queue_depth, stats.jobs.get(JobStatus.PROCESSING.value, 0)


def webhook_body_of(job: Job) -> bytes:
    """The body the service POSTed to a job's webhook_url when it finished."""
    job_url, image_url = links(job)
    body: dict[str, Any] = {
        "created_at": rfc3339(job.created_at),
        "event": EVENT,
        "expires_at": rfc3339(job.expires_at),
        "finished_at": rfc3339(job.finished_at),
        "image_url": image_url,
        "job_id": job.id,
        "job_url": job_url,
        "result": job_result(job, image_url),
        "started_at": rfc3339(job.started_at),
        "status": STATUS[job.status],
    }
    if (error := job_error(job)) is not None:
        body["error"] = error
    present = {k: v for k, v in body.items() if v is not None}
    return orjson.dumps(present, option=orjson.OPT_SORT_KEYS)
