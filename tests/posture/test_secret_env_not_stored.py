"""A credential in a pod template's env reaches the stored findings by its name only."""

import json
import logging

import pytest
from django.core import serializers

from posture.domain.models import Finding, Snapshot
from posture.domain.polling import poll
from tests.emulated import register

pytestmark = pytest.mark.django_db

# Literal values in the neglected scenario's invoice-export Deployment (AWS's documented
# example keys).
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.threat("A credential written into a pod template leaks through Posture's output",
                    "Stored findings and snapshots name the variable, never its value")
def test_polled_env_credentials_are_stored_by_name_only(emulate, caplog):
    cluster = register(emulate("neglected"), "neglected")
    with caplog.at_level(logging.DEBUG):
        snapshot = poll(cluster.pk).snapshot
    found = Finding.objects.get(cluster=cluster, check_id="workload.secret-in-env",
                                name="invoice-export")
    assert found.container == "exporter"
    assert found.evidence == {"env": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]}
    rows = serializers.serialize("json", [*Finding.objects.filter(cluster=cluster),
                                          *Snapshot.objects.filter(pk=snapshot.pk)])
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for text in (rows, json.dumps(found.evidence), found.message, logged):
        assert KEY_ID not in text
        assert SECRET not in text
