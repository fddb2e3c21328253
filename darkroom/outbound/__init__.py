"""The SSRF guard: requests darkroom makes to addresses its users name (source URLs,
webhooks) reach only public addresses, unless DARKROOM_OUTBOUND_ALLOW opens others
(docs/security.md)."""

from darkroom.outbound.addresses import AllowList, refusal_reason
from darkroom.outbound.deadline import deadline
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
    "deadline",
    "outbound_client",
    "refusal_reason",
]
