"""The domain moved into posture/domain/ under its old app label: same tables, no migration."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command

from posture.domain.models import Finding, Snapshot


def test_the_models_need_no_new_migration(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize(("model", "table"), [(Snapshot, "posture_snapshot"),
                                              (Finding, "posture_finding")])
def test_tables_keep_their_names(model, table):
    assert model._meta.db_table == table
    assert apps.get_app_config("posture").name == "posture.domain"


@pytest.mark.django_db(transaction=True)
def test_migration_0009_fills_the_rollups_from_the_snapshots_already_kept():
    from datetime import UTC, datetime, timedelta

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from posture.domain.models import ClusterCurrent, ClusterDay
    from tests.factories import ClusterFactory
    from tests.posture.snapshot_factories import snapshot

    cluster = ClusterFactory()
    day = datetime(2026, 6, 1, 12, tzinfo=UTC)
    for back in range(3):
        snapshot(cluster, day - timedelta(days=back), score=70.0 - back,
                 kubernetes_version="v1.25.3")
        snapshot(cluster, day - timedelta(days=back, hours=3), score=10.0)
    latest = snapshot(cluster, day + timedelta(hours=1), status="failed")
    written = (sorted(ClusterDay.objects.values_list("day", "score")),
               ClusterCurrent.objects.values_list("score", "last_poll_status",
                                                  "kubernetes_eol").get())
    executor = MigrationExecutor(connection)
    executor.migrate([("posture", "0008_merge_alerts_pod_security")])
    try:
        executor.loader.build_graph()
        executor.migrate([("posture", "0009_fleet_rollups")])
        assert (sorted(ClusterDay.objects.values_list("day", "score")),
                ClusterCurrent.objects.values_list("score", "last_poll_status",
                                                   "kubernetes_eol").get()) == written
    finally:
        # Later tests share this database: leave every table of the latest migrations there.
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert written[1][:2] == (70.0, "failed") and latest.status == "failed"
    assert written[1][2] is not None
