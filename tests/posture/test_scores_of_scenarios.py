"""The shipped scenarios score as their names promise, through the whole poll."""

import pytest

from clusters.polling import poll
from posture.models import RiskAcceptance
from tests.emulated import register

pytestmark = pytest.mark.django_db


def test_scenarios_get_distinct_grades_in_the_right_order(emulate):
    scores = {}
    for name in ("well-kept", "typical", "neglected"):
        snapshot = poll(register(emulate(name), name).pk).snapshot
        scores[name] = (snapshot.score, snapshot.grade)
        assert 0 <= snapshot.score <= 100
        assert set(snapshot.category_scores) >= {"workloads", "version", "access"}
    assert scores["well-kept"][0] > scores["typical"][0] > scores["neglected"][0], scores
    assert len({grade for _, grade in scores.values()}) == 3, scores
    assert scores["neglected"][1] in ("D", "F")  # an EOL control plane caps the grade


def test_accepting_a_risk_raises_the_score_and_revoking_restores_it(emulate, alice):
    from datetime import timedelta

    from django.utils import timezone

    from posture.models import Finding
    from posture.waivers import accept, revoke

    cluster = register(emulate("typical"), "typical")
    before = poll(cluster.pk).snapshot.score
    check = Finding.objects.filter(cluster=cluster).values_list("check_id", flat=True).first()
    acceptance = accept(cluster=cluster, check_id=check, namespace="", name_pattern="",
                        reason="compensating control", user=alice,
                        expires_at=timezone.now() + timedelta(days=30))
    accepted = cluster.snapshots.first()
    assert accepted.score > before
    revoke(acceptance, alice)
    assert cluster.snapshots.first().score == before
    assert RiskAcceptance.objects.get().revoked_by == alice
