"""``manage.py poll_cluster NAME``: poll one cluster now, in this process, and summarise."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clusters.models import Cluster
from posture.domain.models import SnapshotStatus, Trigger
from posture.domain.polling import poll


class Command(BaseCommand):
    help = "Poll a cluster synchronously and print one summary line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            cluster = Cluster.objects.get(name=options["name"])
        except Cluster.DoesNotExist:
            raise CommandError(f"No cluster named {options['name']!r}.") from None
        outcome = poll(cluster.pk, Trigger.COMMAND)
        if outcome.snapshot is None:
            raise CommandError(f"{cluster.name}: another poll is running; try again shortly.")
        s = outcome.snapshot
        line = (f"{cluster.name}: {s.status} version={s.kubernetes_version or '-'} "
                f"nodes={s.node_count if s.node_count is not None else '-'} "
                f"pods={s.pod_count if s.pod_count is not None else '-'} "
                f"findings={s.open_findings if s.open_findings is not None else '-'} "
                f"duration={(s.duration_ms or 0) / 1000:.2f}s")
        if s.error:
            line += f" error={s.error}"
        if s.status == SnapshotStatus.FAILED:
            raise CommandError(line)
        self.stdout.write(line)
