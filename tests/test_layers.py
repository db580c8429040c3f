"""The package's shape follows the data flow: lower layers never import higher ones; analysis stays pure."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lossgap"
# data -> model -> training -> run directory -> analysis -> diagnosis -> report; API and CLI on top.
LAYERS = {
    "errors": 0, "io": 0, "dynamics": 0, "epoch_store": 0, "observations": 0, "signals": 0, "options": 0,
    "version": 0, "plain": 0, "lazy": 0, "class_weights": 0,
    "data": 1, "model": 2, "training": 3, "run": 4, "analysis": 5, "diagnosis": 6, "report": 7,
    "api": 8, "progress": 8, "resume": 8, "workers": 8, "parallel": 8, "demo": 8, "remedies": 8, "sweep": 8, "integrations": 9, "cli": 10, "__main__": 10,
    # The package itself re-exports the public API of every layer: importing it from inside runs back up.
    "": 11,
}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "lossgap":
        return None
    return parts[1] if len(parts) > 1 else ""


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "lossgap":
                # "from lossgap import api" names a module; "from lossgap import __version__" a re-export of
                # the package, which sits above every layer.
                found.update(f"lossgap.{alias.name}" if _is_module(alias.name) else "lossgap" for alias in node.names)
            else:
                found.add(node.module)
    return found


def test_importing_the_package_itself_counts_as_the_top_layer():
    assert layer_of("lossgap") == "" and LAYERS[""] > LAYERS["cli"]
    assert layer_of("lossgap.model.lstm") == "model" and layer_of("numpy") is None


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir()


MODULES = sorted(path for path in PACKAGE.rglob("*.py") if path.parent != PACKAGE or path.name != "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    relative = path.relative_to(PACKAGE)
    own = relative.parts[0].removesuffix(".py")
    assert own in LAYERS, f"{relative}: add its layer to LAYERS"
    for module in imports_of(path):
        other = layer_of(module)
        if other is None or other == own:
            continue
        assert other in LAYERS, f"{relative} imports unknown layer {module}"
        assert LAYERS[other] <= LAYERS[own], f"{relative} (layer {own}) imports higher layer {module}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "analysis").rglob("*.py")), ids=lambda path: path.name)
def test_analysis_is_pure(path):
    for module in imports_of(path):
        root = module.split(".")[0]
        assert root not in {"torch", "matplotlib", "rich", "typer", "json", "csv", "pathlib", "os"}, (
            f"analysis/{path.name} imports {module}: analysis is numpy in, dataclasses out")
        if root == "lossgap":
            assert layer_of(module) in {"dynamics", "observations", "errors", "analysis", "plain", "class_weights"}, module
