"""OpenAPI additions for what FastAPI cannot infer: bodies parsed by hand, and the error
bodies darkroom and its dialects answer in place of FastAPI's."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

REF = "#/components/schemas/{model}"
# FastAPI documents a 422 with its own body ({"detail": [...]}) on every route that takes
# parameters; no route answers it: darkroom's answer validation errors with its error body
# (api/errors.py) and say so (error_responses(422)), the dialects in their systems' shapes.
STOCK_VALIDATION = {"$ref": REF.format(model="HTTPValidationError")}
STOCK_MODELS = ("HTTPValidationError", "ValidationError")


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def install(app: FastAPI, extra_models: list[type[BaseModel]]) -> None:
    """Publish ``extra_models`` under components/schemas so hand-written bodies can refer
    to them; leave out FastAPI's stock 422; move the ``$defs`` of hand-written bodies'
    schemas (a dialect's) to components/schemas, where their references point."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in extra_models:
                generated = model.model_json_schema(ref_template=REF)
                components.update(generated.pop("$defs", {}))
                components[model.__name__] = generated
            _hoist_defs(schema.get("paths", {}), components)
            _drop_stock_validation(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def _hoist_defs(node: Any, components: dict[str, Any]) -> None:
    """Every ``$defs`` under ``node`` (a model's schema written into an operation, its
    references made with ``REF``) moved to ``components``."""
    if isinstance(node, dict):
        for name, definition in node.pop("$defs", {}).items():
            if components.setdefault(name, definition) != definition:
                raise ValueError(f"two different schemas are named {name!r}")
        for value in node.values():
            _hoist_defs(value, components)
    elif isinstance(node, list):
        for value in node:
            _hoist_defs(value, components)


def _drop_stock_validation(schema: dict[str, Any]) -> None:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            stock = responses.get("422", {}).get("content", {}).get("application/json", {})
            if stock.get("schema") == STOCK_VALIDATION:
                del responses["422"]
    components = schema.get("components", {}).get("schemas", {})
    for name in STOCK_MODELS:
        components.pop(name, None)
