"""Settings for the commands that run darkroom: a variable that does not parse stops the
command with the variable's name and what it accepts, not a traceback."""

from __future__ import annotations

from typing import Any

import click
from pydantic import ValidationError
from pydantic_settings import SettingsError

from darkroom.config import Settings

ENV_PREFIX = "DARKROOM_"
# what a value failing to parse should have been, by pydantic's error type
EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false (also 1/0, yes/no, on/off)",
    "url_parsing": "a URL",
}
# settings checked against a pattern: the form the pattern stands for
FORMS = {
    "watermarks": "comma-separated name=path pairs, e.g. logo=/srv/logo.png",
    "yolo_device": "cpu, cuda or cuda:N",
    "log_level": "one of debug, info, warning, error, critical",
}


def load_settings() -> Settings:
    """Settings from the environment; a value that cannot be used is a click.UsageError."""
    try:
        return Settings()
    except ValidationError as exc:
        raise click.UsageError("\n".join(_line(error) for error in exc.errors())) from None
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


def variable_name(loc: tuple[int | str, ...]) -> str:
    """The environment variable a settings error is about: its alias as given (PORT's
    DARKROOM_PORT), else DARKROOM_ and the field's name in capitals."""
    first = str(loc[0]) if loc else "?"
    return first if first.isupper() else ENV_PREFIX + first.upper()


def _line(error: Any) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    given = error.get("input")
    got = f", got {given!r}" if isinstance(given, str) else ""
    return f"{variable_name(error['loc'])}: expected {_expected(field, error)}{got}"


def _expected(field: str, error: Any) -> str:
    kind = error["type"]
    if kind in EXPECTED:
        return EXPECTED[kind]
    if kind == "literal_error":
        return "one of " + str(error.get("ctx", {}).get("expected", ""))
    if kind == "string_pattern_mismatch":
        return FORMS.get(field, "the form README.md gives")
    message = str(error["msg"])
    for lead in ("Input should be ", "Value should be ", "String should have "):
        if message.startswith(lead):
            rest = message[len(lead) :]
            return "a value " + rest if rest.startswith(("greater", "less")) else rest
    return message[:1].lower() + message[1:]
