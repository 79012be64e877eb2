"""The import graph keeps the layers: data flows one way, and so do imports.

Records, settings and the text stage at the bottom; models above them; the stream job, the
store, the crawlers, the REST API and the command line on top (the crawlers use the store only
for their own crawl records, :mod:`pipeline.store.crawls`); development code (``devkit``) beside
it all, imported by nobody but the command line. The job finds its model through an entry point,
so no runtime module imports model code. Imports inside functions are allowed only in
``pipeline.cli``, whose commands defer their heavy imports to keep ``yuqing --help`` fast.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "crawlers", "models", "devkit")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> tuple[set[str], set[str]]:
    """(module-level imports, imports inside functions) of our own modules, TYPE_CHECKING out."""
    path = MODULES[module]
    top, nested = set(), set()

    def visit(node: ast.AST, inside: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}".strip(".")
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            if (target := _resolve(name)) and target != module:
                (nested if inside else top).add(target)
        inner = inside or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return top, nested


GRAPH = {module: _imports(module) for module in MODULES}


def _all(module: str) -> set[str]:
    top, nested = GRAPH[module]
    return top | nested


def _closure(start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        module = stack.pop()
        if module not in seen:
            seen.add(module)
            stack.extend(_all(module))
    return seen


def _in(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_no_import_cycles() -> None:
    cycles = [m for m in MODULES if any(m in _closure(n) for n in _all(m))]
    assert cycles == []


def test_only_the_command_line_imports_inside_functions() -> None:
    lazy = {m: sorted(GRAPH[m][1]) for m in MODULES if GRAPH[m][1] and not _in(m, "pipeline.cli")}
    assert lazy == {}


@pytest.mark.parametrize(("layer", "forbidden"), [
    (("pipeline.config", "pipeline.records", "pipeline.errors", "pipeline.text"),
     ("pipeline.stream", "pipeline.store", "pipeline.cli", "pipeline.scoring", "models",
      "crawlers", "devkit")),
    (("models",), ("pipeline.stream", "pipeline.store", "pipeline.cli", "pipeline.broker",
                   "pipeline.kafka", "crawlers", "devkit")),
    (("pipeline",), ("models", "devkit")),
    # The crawlers keep their own records (what a profile's crawls have seen) in the store, but
    # comments reach it only through Kafka and the job: not the alert and dead-letter queries.
    (("crawlers",), ("models", "devkit", "pipeline.stream", "pipeline.store.queries",
                     "pipeline.cli", "pipeline.api")),
    # The API is an interface on top: the job and the store never depend on it.
    (("pipeline.stream", "pipeline.store", "pipeline.scoring", "pipeline.kafka"),
     ("pipeline.api", "pipeline.cli")),
])  # fmt: skip
def test_layers_import_only_downwards(layer: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    wrong = {m: sorted(t for t in _all(m) if _in(t, *forbidden))
             for m in MODULES if _in(m, *layer) and not _in(m, "pipeline.cli")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_a_worker_imports_no_development_or_training_code() -> None:
    worker = _closure("pipeline.stream.run") | _closure("models.handlers.lstm") | _closure(
        "models.handlers.bert")
    assert sorted(m for m in worker if _in(m, "devkit", "models.corrector", "models.train",
                                           "models.bert_train", "models.distill", "crawlers")) == []
