"""Upper bounds on the numbers a request may carry, beyond which a value would overflow a
date, a database column or a 64-bit integer somewhere on its way (a 500, or a job no page
can show): requests over them are refused at validation (422). docs/security.md."""

from __future__ import annotations

from datetime import UTC, datetime

# A job's retention: 50 years of 365 days. The store keeps it in a 32-bit INTEGER column
# (PostgreSQL's tops out at 2**31 - 1 s, about 68 years), and the time it expires must
# stay a date (year 9999 at most).
MAX_RETENTION_S = 50 * 365 * 24 * 3600

# Offsets and counts the databases take: a signed 64-bit integer.
MAX_INT64 = 2**63 - 1


def epoch_seconds(moment: datetime) -> float:
    """A date a request gave, as seconds since the epoch; without an offset it is UTC.
    (Read in the server's own zone, the first and last days pydantic accepts,
    0001-01-01 and 9999-12-31, fall outside the years datetime can convert.)"""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
