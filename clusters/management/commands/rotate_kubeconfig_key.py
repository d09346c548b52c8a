"""``manage.py rotate_kubeconfig_key``: re-encrypt every stored kubeconfig with the newest key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clusters import vault
from clusters.models import Cluster


class Command(BaseCommand):
    help = "Re-encrypt all kubeconfigs with the first key of POSTURE_KUBECONFIG_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            for cluster in Cluster.objects.select_for_update().only("pk", "kubeconfig_sealed"):
                try:
                    cluster.kubeconfig_sealed = vault.rotate(cluster.kubeconfig_sealed)
                except vault.VaultError as exc:
                    raise CommandError(
                        f"Cluster {cluster.pk}: {exc}; nothing was changed."
                    ) from None
                cluster.save(update_fields=["kubeconfig_sealed"])
                count += 1
        self.stdout.write(f"re-encrypted {count} kubeconfig(s) with the newest key")
