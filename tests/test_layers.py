"""Dependencies point inward (docs/architecture.md): each rule names a layer and the
packages it may not import, at module level or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "darkroom"
# What the service is made of, beyond the pure image code.
SERVICE = [
    "darkroom.api",
    "darkroom.app",
    "darkroom.background",
    "darkroom.blobs",
    "darkroom.compose",
    "darkroom.config",
    "darkroom.dialects",
    "darkroom.jobs",
    "darkroom.metrics",
    "darkroom.outbound",
    "darkroom.queue",
    "darkroom.service",
    "darkroom.store",
    "darkroom.tracing",
    "darkroom.webhooks",
    "darkroom.worker",
]
EDGES = ["darkroom.api", "darkroom.app", "darkroom.dialects", "darkroom.service"]

# layer -> what it may not import
RULES: dict[str, list[str]] = {
    # image code knows nothing of the service (imaging applies what smart finds)
    "darkroom.imaging": SERVICE,
    "darkroom.smart": [*SERVICE, "darkroom.imaging"],
    # the job domain: jobs, specs, states, effects; not where they are kept or served
    "darkroom.jobs": [*EDGES, "darkroom.store", "darkroom.queue", "darkroom.config"],
    "darkroom.store": EDGES,
    "darkroom.queue": EDGES,
    "darkroom.blobs": [*EDGES, "darkroom.store", "darkroom.queue"],
    "darkroom.webhooks": EDGES,
    # the native API and the dialects are two edges; the app (darkroom.app) joins them
    "darkroom.api": ["darkroom.dialects", "darkroom.app"],
    # dialects translate: they submit jobs, and never render
    "darkroom.dialects": ["darkroom.imaging", "darkroom.smart", "darkroom.worker"],
    # the public client talks HTTP: none of the server (webhooks' signing alone, which is
    # the standard library's), and the signing scheme it shares with the server is apart
    "darkroom.client": [
        *(p for p in SERVICE if p != "darkroom.webhooks"),
        "darkroom.imaging",
        "darkroom.smart",
    ],
    "darkroom.signing": [*SERVICE, "darkroom.imaging", "darkroom.smart", "darkroom.client"],
    # the settings know no image, smart-crop or webhook code (darkroom/slices.py does)
    "darkroom.config": ["darkroom.imaging", "darkroom.smart", "darkroom.webhooks"],
}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every darkroom module ``path`` imports, wherever in the file."""
    found: set[str] = set()
    package = _module(path) if path.name == "__init__.py" else _module(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("darkroom")}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _violations(layer: str, forbidden: list[str]) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module(path)
        if not _within(module, layer):
            continue
        for name in sorted(_imports(path)):
            if any(_within(name, f) and not _within(name, layer) for f in forbidden):
                found.append(f"{module} imports {name}")
    return found


@pytest.mark.parametrize("layer", sorted(RULES))
def test_dependencies_point_inward(layer: str) -> None:
    assert _violations(layer, RULES[layer]) == []


def test_the_rules_see_imports() -> None:
    """The checker finds a known import, so an empty answer above means something."""
    assert "darkroom.imaging" in {
        n.split(".render")[0] for n in _imports(PACKAGE / "worker" / "execute.py")
    }
    assert _violations("darkroom.worker", ["darkroom.imaging"]) != []
