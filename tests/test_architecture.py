"""The layering of ARCHITECTURE.md, enforced: imports only point down the stack, stages never
import each other, and nothing runs or reads the clock at import time."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "standoff"

# What each top-level package may import from standoff (besides itself).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "geo": {"core"},
    "airspace": {"core", "geo"},
    "domain": {"core", "geo"},
    "platforms": {"core", "geo", "airspace", "domain"},
    "plan": {"core", "geo", "airspace", "domain", "platforms"},
    "sim": {"core", "geo", "airspace", "domain", "platforms"},
    "track": {"core", "geo", "domain", "platforms"},
    "intel": {"core", "geo", "airspace", "domain", "platforms"},
    "share": {"core", "geo", "airspace", "domain", "platforms"},
    "oversight": {"core", "geo", "airspace", "domain", "platforms"},
    "store": {"core", "geo", "domain", "oversight"},
    "data": set(),
    "pipeline": {
        "core",
        "geo",
        "airspace",
        "domain",
        "platforms",
        "plan",
        "sim",
        "track",
        "intel",
        "share",
        "oversight",
        "store",
    },
    "scale": {
        "core",
        "geo",
        "airspace",
        "domain",
        "platforms",
        "plan",
        "sim",
        "track",
        "intel",
        "share",
        "oversight",
        "store",
        "pipeline",
    },
    "cli": {
        "core",
        "geo",
        "airspace",
        "domain",
        "platforms",
        "plan",
        "sim",
        "track",
        "intel",
        "share",
        "oversight",
        "store",
        "pipeline",
        "scale",
        "api",  # `standoff serve` starts the API
    },
    "api": {
        "core",
        "geo",
        "airspace",
        "domain",
        "platforms",
        "plan",
        "sim",
        "track",
        "intel",
        "share",
        "oversight",
        "store",
        "pipeline",
        "scale",
    },
}


def _package_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return (
        rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.name != "__init__.py" else ""
    )


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "standoff" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_imports_follow_the_layering() -> None:
    problems = []
    for path in SRC.rglob("*.py"):
        pkg = _package_of(path)
        if not pkg:
            continue
        assert pkg in ALLOWED, f"{pkg} is not in ARCHITECTURE.md's layout; add it there and here"
        for target in _imports(path) - {pkg}:
            if target not in ALLOWED[pkg]:
                problems.append(f"{path.relative_to(SRC)} imports standoff.{target}")
    assert not problems, problems


def test_no_clock_or_global_rng_below_the_pipeline() -> None:
    banned = (
        "datetime.now(",
        "datetime.utcnow(",
        "time.time(",
        "np.random.seed(",
        "np.random.rand",
        "random.random(",
    )
    problems = []
    for path in SRC.rglob("*.py"):
        if _package_of(path) in ("cli", "api", "pipeline", "scale"):
            continue
        text = path.read_text(encoding="utf-8")
        problems += [f"{path.relative_to(SRC)}: {b}" for b in banned if b in text]
    assert not problems, problems


def _identifiers(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.arg) or (isinstance(node, ast.keyword) and node.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def test_no_weapon_fields_or_hooks_in_the_code() -> None:
    """Intelligence only: no identifier (field, function, class, argument) names a weapon
    capability.  Prose that states the refusal, and the refusal's own patterns, are fine."""
    words = (
        "weapon",
        "munition",
        "missile",
        "ordnance",
        "warhead",
        "strike",
        "designat",
        "hellfire",
        "targeting",
        "payload_release",
    )
    problems = []
    for path in SRC.rglob("*.py"):
        for name in _identifiers(ast.parse(path.read_text(encoding="utf-8"))):
            problems += [f"{path.relative_to(SRC)}: {name}" for w in words if w in name.lower()]
    assert not problems, problems
