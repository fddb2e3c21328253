"""Requests darkroom makes to addresses its users name: source URLs and webhooks."""

from darkroom.outbound.addresses import AllowList, refusal_reason
from darkroom.outbound.guard import (
    Destination,
    ForbiddenDestination,
    OutboundGuard,
    Unresolvable,
    outbound_client,
)

__all__ = [
    "AllowList",
    "Destination",
    "ForbiddenDestination",
    "OutboundGuard",
    "Unresolvable",
    "outbound_client",
    "refusal_reason",
]
