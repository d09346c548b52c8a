"""``manage.py emulate_clusters``: serve emulated clusters for the demo and manual testing."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from emulator.cli import add_arguments, serve
from emulator.scenario import ScenarioError


class Command(BaseCommand):
    """Serve scenarios on 127.0.0.1:PORT+i until interrupted, writing their kubeconfigs."""

    help = "Serve emulated Kubernetes clusters (read-only, HTTPS on 127.0.0.1)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Take the same arguments as ``python -m emulator``."""
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        """Serve until SIGINT or SIGTERM."""
        try:
            serve(options["scenarios"], options["port"], options["kubeconfig_dir"],
                  day=options["day"], keep_identity=options["keep_identity"],
                  out=self.stdout)  # type: ignore[arg-type]  # OutputWrapper writes like a TextIO
        except (ScenarioError, OSError) as exc:
            raise CommandError(str(exc)) from exc
