"""``GET /metrics``: open, like /healthz (docs/security.md); not in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from darkroom.api.deps import ServiceDep
from darkroom.metrics.scrape import exposition

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(service: ServiceDep) -> Response:
    return Response(exposition(service.stats), media_type=CONTENT_TYPE_LATEST)
