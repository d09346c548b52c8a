"""The web process freezes its start-up objects, so full garbage collections skip them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What gunicorn does: import the WSGI module; then count what a full collection still walks.
PROBE = ("import gc, sys, posture.site.wsgi; "
         "print(int('posture.web.views.overview' in sys.modules), gc.get_freeze_count(), "
         "len(gc.get_objects()))")


def test_the_wsgi_module_freezes_what_start_up_made():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "posture.site.settings"})
    views, frozen, tracked = (int(n) for n in done.stdout.split()[-3:])
    # The views are imported before the freeze: almost nothing is left for a collection to walk.
    assert views == 1
    assert frozen > 50_000
    assert tracked * 10 < frozen
