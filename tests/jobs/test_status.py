from __future__ import annotations

import pytest

from darkroom.jobs.status import FINISHED, TRANSITIONS, JobStatus, can_transition


def test_lifecycle_paths() -> None:
    assert can_transition(JobStatus.QUEUED, JobStatus.PROCESSING)
    assert can_transition(JobStatus.PROCESSING, JobStatus.SUCCEEDED)
    assert can_transition(JobStatus.PROCESSING, JobStatus.FAILED)
    assert can_transition(JobStatus.PROCESSING, JobStatus.QUEUED)  # retry after a failure
    assert can_transition(JobStatus.FAILED, JobStatus.QUEUED)  # retry asked for
    assert can_transition(JobStatus.QUEUED, JobStatus.CANCELED)


@pytest.mark.parametrize("final", [JobStatus.SUCCEEDED, JobStatus.CANCELED])
def test_terminal_states_go_nowhere(final: JobStatus) -> None:
    assert TRANSITIONS[final] == frozenset()
    assert final.finished


def test_unfinished_states() -> None:
    assert {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED} == FINISHED
    assert not JobStatus.QUEUED.finished
    assert not can_transition(JobStatus.QUEUED, JobStatus.SUCCEEDED)
