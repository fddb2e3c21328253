"""darkroom's Python client (docs/client.md).

``Client`` and ``AsyncClient`` submit jobs, wait for them, download their outputs, list,
cancel and retry them; ``verify_webhook`` checks a delivery's signature and
``sign_variant_url`` signs an output variant's URL for a server with
DARKROOM_URL_SIGNING_KEY set. Errors of the API are raised as ``ApiError`` with the API's
``code``.
"""

from darkroom.client.aio import AsyncClient
from darkroom.client.errors import ApiError, DarkroomError, Unreachable, WaitTimeout
from darkroom.client.models import (
    TERMINAL,
    Crop,
    Job,
    JobError,
    JobPage,
    Output,
    OutputFormat,
    SourceFacts,
    WebhookState,
)
from darkroom.client.requests import Upload
from darkroom.client.sync import Client
from darkroom.client.webhooks import verify_webhook
from darkroom.signing.variants import sign_variant_url
from darkroom.webhooks.signing import WebhookVerificationError

__all__ = [
    "TERMINAL",
    "ApiError",
    "AsyncClient",
    "Client",
    "Crop",
    "DarkroomError",
    "Job",
    "JobError",
    "JobPage",
    "Output",
    "OutputFormat",
    "SourceFacts",
    "Unreachable",
    "Upload",
    "WaitTimeout",
    "WebhookState",
    "WebhookVerificationError",
    "sign_variant_url",
    "verify_webhook",
]
