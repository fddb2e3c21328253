"""How a worker holds the jobs it claims, and how often it looks for more."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeaseSettings:
    """``lease_s``: how long a claim holds a job unless renewed (the worker renews it
    every third of that); ``poll_interval_s``: the longest an idle worker waits before
    looking for work again."""

    lease_s: float
    poll_interval_s: float
