"""The rules engine's hot modules, compiled to C extensions with mypyc, and their guard.

The modules in ``MODULES`` do the per-container and per-template work of an evaluation.
``python -m posture.checks.native`` (run by ``make setup``) compiles them with mypyc into
extension modules next to their sources, which Python then imports in their place: an
evaluation of many distinct templates runs about 1.6 times as fast. Without the extensions
(no C compiler, ``POSTURE_PURE_PYTHON=1``) the same sources run as plain Python, with the same
findings.

An extension older than any of the sources is stale: it would run yesterday's code. Then every
module of the group is imported from its source instead (the compiled modules call each other
directly, so one stale module taints them all), and the import says so once in the log.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

# Leaf modules only: Context (cached properties), the engine (Ordered, a list subclass) and
# results (the draft-to-Finding class swap) rely on what mypyc's native classes do not offer.
MODULES: tuple[str, ...] = (
    "posture.checks.safe",
    "posture.checks.secrets",
    "posture.checks.images",
    "posture.checks.pod",
    "posture.checks.pss.controls",
    "posture.checks.pss.evaluator",
    "posture.checks.rules.workloads",
    "posture.checks.rules.images",
)
# The shared library mypyc puts the group's code in, kept inside the package.
GROUP = "posture.checks.compiled"
PURE_PYTHON_ENV = "POSTURE_PURE_PYTHON"

_ROOT = Path(__file__).resolve().parents[2]
_SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _source(module: str) -> Path:
    return _ROOT.joinpath(*module.split(".")).with_suffix(".py")


def _extension(module: str) -> Path:
    return _ROOT.joinpath(*module.split(".")).with_name(module.rsplit(".", 1)[1] + _SUFFIX)


def stale() -> list[str]:
    """Return the modules whose extension exists but is older than some source of the group."""
    newest = max(_source(m).stat().st_mtime for m in MODULES)
    return [m for m in MODULES if _extension(m).exists() and _extension(m).stat().st_mtime < newest]


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Import the group's modules from their ``.py`` files, ignoring their extensions."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, _source(fullname))


def guard() -> None:
    """Make the group import from source when asked to, or when an extension is stale."""
    if any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        return
    if os.environ.get(PURE_PYTHON_ENV) == "1":
        sys.meta_path.insert(0, _SourceFirst())
        return
    old = stale()
    if old:
        # Why this is only logged: the sources are the truth, and they still run.
        log.warning(
            "compiled engine modules are older than their sources (%s); running the sources. "
            "Rebuild with: python -m posture.checks.native",
            ", ".join(old),
        )
        sys.meta_path.insert(0, _SourceFirst())


def compiled() -> bool:
    """Say whether the group's modules, once imported, are the compiled extensions."""
    module = sys.modules.get(MODULES[0])
    return module is not None and str(module.__file__).endswith(_SUFFIX)


_SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
setup(name="posture-native", ext_modules=mypycify(sys.argv[1:-5], opt_level="3",
      group_name="{group}", target_dir=sys.argv[-5]), script_args=sys.argv[-4:])
"""


def build() -> None:
    """Compile ``MODULES`` and move the extensions next to their sources.

    The build happens in a temporary directory; each extension then replaces the old one by
    rename, so that a process that has the old one loaded keeps a valid file.
    """
    sources = [str(_source(m).relative_to(_ROOT)) for m in MODULES]
    with tempfile.TemporaryDirectory(prefix="posture-native-") as tmp:
        lib, temp = Path(tmp, "lib"), Path(tmp, "temp")
        command = [sys.executable, "-c", _SETUP.format(group=GROUP), *sources, str(Path(tmp, "c")),
                   "build_ext", f"--build-lib={lib}", f"--build-temp={temp}", "--quiet"]
        subprocess.run(command, cwd=_ROOT, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        built = list(lib.rglob(f"*{_SUFFIX}"))
        for path in built:
            target = _ROOT / path.relative_to(lib)
            staged = target.with_name(target.name + ".new")
            staged.write_bytes(path.read_bytes())
            os.replace(staged, target)
    # Ensure the extensions are newer than every source, even on coarse file clocks.
    for module in MODULES:
        os.utime(_extension(module))
    print(f"compiled {len(MODULES)} modules ({len(built)} extensions)")


def clean() -> None:
    """Remove the extensions, so that the sources run."""
    for module in MODULES:
        _extension(module).unlink(missing_ok=True)
    _ROOT.joinpath(*GROUP.split(".")).with_name(
        GROUP.rsplit(".", 1)[1] + "__mypyc" + _SUFFIX
    ).unlink(missing_ok=True)


if __name__ == "__main__":
    clean() if sys.argv[1:] == ["--clean"] else build()
