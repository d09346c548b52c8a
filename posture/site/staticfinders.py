"""Serve plotly.js from the installed plotly package, so no copy of it is committed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage

# The one file this finder exposes, and where collectstatic puts it.
PLOTLY_PATH = "vendor/plotly.min.js"
PLOTLY_SOURCE = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


class PlotlyFinder(BaseFinder):
    """Expose the plotly package's bundled ``plotly.min.js`` as ``vendor/plotly.min.js``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(PLOTLY_SOURCE.parent))
        # collectstatic joins this prefix to the listed name to build the destination path.
        self.storage.prefix = "vendor"  # type: ignore[attr-defined]  # read by collectstatic

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        """Report a plotly install that lacks its bundled JavaScript."""
        if PLOTLY_SOURCE.is_file():
            return []
        return [Error(f"{PLOTLY_SOURCE} is missing: the trend charts cannot be served.",
                      hint="Reinstall the pinned plotly package.", id="posture.E020")]

    def find(self, path: str, find_all: bool = False,  # type: ignore[override]
             **kwargs: Any) -> str | list[str]:  # Django 5.2's signature; the stubs' is newer
        """Return the file's absolute path for ``vendor/plotly.min.js``, else nothing."""
        found = path == PLOTLY_PATH and PLOTLY_SOURCE.is_file()
        if find_all:
            return [str(PLOTLY_SOURCE)] if found else []
        return str(PLOTLY_SOURCE) if found else ""

    def list(self, ignore_patterns: Iterable[str] | None
             ) -> Iterator[tuple[str, FileSystemStorage]]:
        """Yield only plotly.min.js (the package's folder holds other files too)."""
        if PLOTLY_SOURCE.is_file():
            yield PLOTLY_SOURCE.name, self.storage
