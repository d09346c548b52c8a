"""``manage.py seed_history``: synthetic fleet history for benchmarks (not for production)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from posture.devtools.synthetic import seed
from posture.domain.models import Snapshot


class Command(BaseCommand):
    help = "Create synthetic clusters with a history of snapshots and findings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clusters", type=int, default=50)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--polls-per-day", type=int, default=4)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        made = seed(options["clusters"], options["days"], options["polls_per_day"],
                    seed_value=options["seed"], progress=lambda m: self.stderr.write(m))
        written = Snapshot.objects.filter(cluster__in=made).count()
        self.stdout.write(f"seeded {options['clusters']} clusters, {written} snapshots in "
                          f"{time.monotonic() - started:.1f}s")
