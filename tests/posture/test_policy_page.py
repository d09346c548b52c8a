import pytest
from django.urls import reverse

from posture.domain.models import OrgPolicy

pytestmark = pytest.mark.django_db
URL = reverse("policy")


def test_security_team_saves_a_valid_policy(as_sam, sam):
    response = as_sam.post(URL, {"document": "approved_registries: [ghcr.io/acme]\n"
                                             "pss_level_by_cluster_label: {env=dev: baseline}\n"})
    assert response.status_code == 302
    row = OrgPolicy.load()
    assert row.policy().approved_registries == ("ghcr.io/acme",)
    assert row.policy().for_cluster({"env": "dev"}).pss_level == "baseline"
    assert row.policy().for_cluster({"env": "prod"}).pss_level == "restricted"
    assert row.updated_by == sam


@pytest.mark.parametrize(("document", "message"), [
    ("approved_registries: [unclosed", "Not valid YAML"),
    ("bogus: 1\n", "unknown key(s) bogus"),
    ("pss_level: strict\n", "expected one of"),
    ("disabled_checks: [no.such-check]\n", "unknown check id(s) no.such-check"),
])
def test_invalid_policy_is_refused_with_a_reason(as_sam, document, message):
    page = as_sam.post(URL, {"document": document}).content.decode()
    assert message in page
    assert OrgPolicy.load().document == {}


def test_owners_read_but_cannot_edit(as_alice):
    assert "approved_registries" in as_alice.get(URL).content.decode()
    assert as_alice.post(URL, {"document": "pss_level: baseline\n"}).status_code == 403


def test_changing_the_policy_rescores_every_clusters_newest_snapshot(as_sam, alice, bob):
    from datetime import timedelta

    from django.utils import timezone

    from posture.domain.scorecard import rescore_latest
    from tests.factories import ClusterFactory
    from tests.posture.snapshot_factories import finding, snapshot

    now = timezone.now()
    clusters = [ClusterFactory(owners=[alice]), ClusterFactory(owners=[bob])]
    older = {}
    for cluster in clusters:
        older[cluster.pk] = snapshot(cluster, now - timedelta(days=1), score=55.0)
        newest = snapshot(cluster, now - timedelta(hours=1))
        finding(cluster, newest, "workload.privileged", kind="DaemonSet",
                namespace="kube-system", name="kube-proxy", container="kube-proxy")
        rescore_latest(cluster, now)
        newest.refresh_from_db()
        # By default the platform's own DaemonSet is shown apart, not scored or counted.
        assert newest.score == 100.0
        assert newest.finding_counts["severity"]["critical"] == 0
        assert newest.finding_counts["platform_severity"]["critical"] == 1

    response = as_sam.post(URL, {"document": "score_platform_findings: true\n"}, follow=True)
    assert "were recomputed" in response.content.decode()
    for cluster in clusters:
        newest = cluster.snapshots.order_by("-taken_at").first()
        assert newest.score < 100.0
        assert newest.finding_counts["severity"]["critical"] == 1
        assert newest.finding_counts["platform_severity"]["critical"] == 0
        assert cluster.snapshots.get(pk=older[cluster.pk].pk).score == 55.0

def test_the_page_documents_every_key_from_the_schema(as_alice):
    import dataclasses
    import html
    import re

    from posture.checks import Policy
    from posture.checks.policy import policy_keys

    page = as_alice.get(URL).content.decode()
    section = page.split('id="policy-keys"', 1)[1]
    rows = re.findall(r'<tr id="key-([a-z_]+)">(.*?)</tr>', section, re.S)
    assert [name for name, _ in rows] == [f.name for f in dataclasses.fields(Policy)]
    for (name, row), key in zip(rows, policy_keys(), strict=True):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(
            r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        assert cells == [name, key.meaning, key.type, key.default, f"{name}: {key.example}"]
    assert "warn about it" in dict(rows)["eol_warning_days"]
