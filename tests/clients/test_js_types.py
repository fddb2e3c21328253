"""clients/js/types.d.ts is what clients/js/scripts/gen_types.py makes from the OpenAPI
schema darkroom serves: a change to the API that is not carried into the JavaScript
client's types fails here."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.helpers import REPO

GENERATOR = REPO / "clients" / "js" / "scripts" / "gen_types.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_types", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_types_are_generated_from_the_current_schema() -> None:
    gen = generator()
    expected = gen.render(gen.openapi_schema())
    assert gen.TYPES_FILE.read_text() == expected, (
        "clients/js/types.d.ts is stale: run .venv/bin/python clients/js/scripts/gen_types.py"
    )


def test_types_cover_every_schema_and_the_client_queries() -> None:
    gen = generator()
    schema = gen.openapi_schema()
    text = gen.render(schema)
    for name in [*schema["components"]["schemas"], *gen.QUERIES]:
        assert f"export interface {name} " in text or f"export type {name} = " in text, name
    assert 'export type JobStatus = "queued" | "processing" | "succeeded"' in text
    assert "  error: ErrorInfo | null;" in text  # nullable $ref, required
    assert "  outputs?: OutputIn[] | null;" in text  # optional, nullable array of $ref
