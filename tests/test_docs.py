"""The README's settings table lists every setting."""

from __future__ import annotations

from pathlib import Path

from darkroom.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`DARKROOM_{name.upper()}" in README, name


def test_readme_commands_exist() -> None:
    scripts = Path(__file__).resolve().parent.parent / "scripts"
    assert "./scripts/serve" in README and (scripts / "serve").is_file()
    assert "./scripts/test" in README and (scripts / "test").is_file()
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "scripts/test" in ci
