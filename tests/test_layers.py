"""The layer contract (docs/architecture.md): imports go down only, and it is enforced.

site -> web -> domain -> clusters -> posture.checks -> posture.lifecycle; the rules engine and
the lifecycle data import no Django; only the development tools start the emulator, which
imports nothing of Posture. The contracts live in pyproject.toml ([tool.importlinter]).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
from importlinter import configuration
from importlinter.application.use_cases import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("posture", "clusters", "emulator")


def test_the_layer_contracts_hold(capsys):
    configuration.configure()
    kept = lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None,
                        no_logo=True)
    assert kept, capsys.readouterr().out


def _copy_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.yaml", "*.md"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    # A separate process, so the copy (first on the path) is analysed, not this checkout.
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
         " sys.exit(lint_imports_command())", "--config", "pyproject.toml", "--no-cache"],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
        timeout=300)


def test_an_import_going_up_breaks_the_contract(tmp_path):
    """GIVEN a copy of the code where the registry imports a page module and the rules engine
    imports Django, WHEN the contracts are linted, THEN they fail and name both imports."""
    tree = _copy_tree(tmp_path)
    with open(tree / "clusters" / "access.py", "a", encoding="utf-8") as handle:
        handle.write("\nfrom posture.web import charts  # noqa: E402,F401\n")
    with open(tree / "posture" / "checks" / "engine.py", "a", encoding="utf-8") as handle:
        handle.write("\nimport django  # noqa: E402,F401\n")
    result = _lint(tree)
    print(result.stdout)
    assert result.returncode != 0
    assert "clusters is not allowed to import posture.web" in result.stdout
    assert "clusters.access -> posture.web.charts" in result.stdout
    assert "posture.checks.engine -> django" in result.stdout


def test_the_unchanged_copy_passes(tmp_path):
    """The copy itself is sound: only the wrong import above breaks it."""
    result = _lint(_copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout


def test_rules_engine_context_does_not_import_the_check_base():
    """The check base names the context's type; the context needs nothing of the base."""
    graph = grimp.build_graph("posture", cache_dir=None)
    assert graph.find_shortest_chain(importer="posture.checks.context",
                                     imported="posture.checks.base") is None
    assert graph.find_shortest_chain(importer="posture.checks.policy",
                                     imported="posture.checks.catalog") is None
