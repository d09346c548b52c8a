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
