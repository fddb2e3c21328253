"""Failure codes: one enum, the transient ones marked on it, the same as docs/api.md's
table, and every code the image and download layers raise is one of them."""

from __future__ import annotations

import re
from pathlib import Path

from darkroom import imaging
from darkroom.jobs.failures import FailureCode, is_transient
from darkroom.outbound import ForbiddenDestination

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> dict[str, bool]:
    """docs/api.md's failure table: code -> retried?"""
    text = (ROOT / "docs" / "api.md").read_text()
    table = text.split("A job that fails records one of these codes", 1)[1].split("\n\n")[1]
    found: dict[str, bool] = {}
    for row in table.splitlines()[2:]:
        codes, retried = row.split("|")[1:3]
        names = re.findall(r"`([a-z_]+)`", codes)
        answers = [a.strip() for a in retried.split("/")] * len(names)
        for name, answer in zip(names, answers[: len(names)], strict=True):
            found[name] = answer in ("yes", "—")
    return found


def test_the_documented_table_is_the_enum() -> None:
    documented = _documented()
    assert set(documented) == {code.value for code in FailureCode}
    for code in FailureCode:
        assert code.transient == documented[code.value] == is_transient(code.value), code


def test_every_code_the_layers_raise_is_a_failure_code() -> None:
    raised = {
        cls.code
        for cls in vars(imaging).values()
        if isinstance(cls, type) and issubclass(cls, imaging.ImageError)
    } - {imaging.ImageError.code}
    source = (ROOT / "darkroom" / "worker" / "fetch.py").read_text()
    raised |= set(re.findall(r'FetchError\(\s*"([a-z_]+)"', source))
    raised.add(ForbiddenDestination("x").code)
    assert raised and raised <= {code.value for code in FailureCode}
    assert not is_transient("no_such_code")
