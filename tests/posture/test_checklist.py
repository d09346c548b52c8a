"""The remediation checklist: grouping, order, filters, and accepting or revoking a risk."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from posture.checks import Policy
from posture.domain.models import OrgPolicy, RiskAcceptance, Snapshot
from posture.domain.scorecard import current as current_scorecard
from posture.domain.scorecard import rescore_latest
from posture.web.dashboard import checklist
from tests.posture.snapshot_factories import finding, saturated_workloads, snapshot

pytestmark = pytest.mark.django_db


def url(cluster) -> str:
    return reverse("clusters:checklist", args=[cluster.pk])


def accept_url(cluster) -> str:
    return reverse("clusters:accept-risk", args=[cluster.pk])


@pytest.fixture
def messy(cluster_a):
    """cluster A with findings of four checks, scored as a poll would score it."""
    now = timezone.now()
    seen = snapshot(cluster_a, now - timedelta(days=3))
    finding(cluster_a, seen, "workload.privileged", namespace="shop", name="cart")
    finding(cluster_a, seen, "workload.privileged", namespace="tools", name="debug")
    finding(cluster_a, seen, "workload.runs-as-root", namespace="shop", name="cart",
            container="app")
    finding(cluster_a, seen, "workload.runs-as-root", namespace="shop", name="cart",
            container="sidecar")
    finding(cluster_a, seen, "workload.root-filesystem-writable", namespace="shop",
            name="cart", container="app")
    gone = snapshot(cluster_a, now - timedelta(days=1))
    finding(cluster_a, seen, "image.latest-tag", namespace="shop", name="old", resolved=gone)
    latest = snapshot(cluster_a, now - timedelta(hours=1))
    rescore_latest(cluster_a)
    latest.refresh_from_db()
    return cluster_a


def _group_ids(html: str) -> list[str]:
    return re.findall(r'<section class="card check-group[^"]*" id="check-[^"]+" '
                      r'data-check="([^"]+)"', html)


def test_groups_follow_the_scorecards_ranked_list(messy, as_alice):
    page = as_alice.get(url(messy)).content.decode()
    card = current_scorecard(messy.snapshots.first(), messy, timezone.now()).card
    expected = [fix.check for fix in card.fixes()]
    assert _group_ids(page) == expected
    # Risk first: the critical, then the medium, then the low, whatever each regains.
    assert expected == ["workload.privileged", "workload.runs-as-root",
                        "workload.root-filesystem-writable"]
    assert "image.latest-tag" not in _group_ids(page)  # resolved: hidden by default
    score = page[page.index('id="checklist-score"'):]
    assert f"<strong>{card.score:.1f}</strong>" in score[:score.index("</p>")]


def test_platform_findings_form_their_own_section(messy, as_alice):
    seen = messy.snapshots.first()
    finding(messy, seen, "workload.privileged", kind="DaemonSet", namespace="kube-system",
            name="kube-proxy", container="kube-proxy")
    page = as_alice.get(url(messy)).content.decode()
    main = page[page.index('id="checklist"'):page.index('id="platform-managed"')]
    assert "kube-proxy" not in main
    platform = page[page.index('id="platform-managed"'):page.index('id="acceptances"')]
    assert 'id="check-platform-workload-privileged"' in platform
    assert "<bdi>DaemonSet</bdi>/<bdi>kube-proxy</bdi>" in platform and "not scored" in platform
    assert "score_platform_findings: true" in platform
    assert 'id="accept-platform-workload-privileged"' not in platform


def test_findings_are_grouped_by_workload_within_a_check(messy):
    groups = {g.check_id: g for g in
              checklist.build(messy, timezone.now(), checklist.Filters(), Policy()).groups}
    root = groups["workload.runs-as-root"]
    assert [(w.namespace, w.name, len(w.items)) for w in root.workloads] == [("shop", "cart", 2)]
    privileged = groups["workload.privileged"]
    assert [(w.namespace, w.name) for w in privileged.workloads] == [("shop", "cart"),
                                                                      ("tools", "debug")]
    assert privileged.counts == {"open": 2, "accepted": 0, "resolved": 0}
    assert privileged.points_gained > groups["workload.root-filesystem-writable"].points_gained


def test_page_shows_why_how_and_first_seen(messy, as_alice):
    page = as_alice.get(url(messy)).content.decode()
    section = page[page.index('id="check-workload-privileged"'):]
    section = section[:section.index("</section>")]
    assert "Why it matters" in section and '<pre class="snippet"' in section
    assert "privileged: false" in section
    assert section.count('<span class="state state-open">open</span>') == 2


def test_filters_narrow_by_namespace_severity_and_category_and_show_resolved(messy, as_alice):
    assert _group_ids(as_alice.get(url(messy), {"namespace": "tools"}).content.decode()) == [
        "workload.privileged"]
    assert _group_ids(as_alice.get(url(messy), {"severity": "low"}).content.decode()) == [
        "workload.root-filesystem-writable"]
    assert _group_ids(as_alice.get(url(messy), {"category": "images"}).content.decode()) == []
    resolved = as_alice.get(url(messy), {"category": "images", "resolved": "1"}).content.decode()
    assert _group_ids(resolved) == ["image.latest-tag"]
    assert "state-resolved" in resolved


def _accept(client, cluster, **fields):
    data = {"check_id": "workload.privileged", "scope": "namespace", "namespace": "tools",
            "name_pattern": "", "reason": "debug pod, removed next sprint",
            "expires_on": (timezone.localdate() + timedelta(days=30)).isoformat()}
    data.update(fields)
    return client.post(accept_url(cluster), data)


def test_accepting_a_risk_through_the_form_raises_the_score(messy, as_alice, alice):
    before = messy.snapshots.first().score
    response = _accept(as_alice, messy)
    assert response.status_code == 302
    acceptance = RiskAcceptance.objects.get()
    assert (acceptance.namespace, acceptance.name_pattern, acceptance.created_by) == (
        "tools", "", alice)
    after = messy.snapshots.first().score
    assert after > before
    page = as_alice.get(response["Location"]).content.decode()
    assert f"The score is now {after:.1f}" in page
    assert f"<strong>{after:.1f}</strong>" in page
    section = page[page.index('id="check-workload-privileged"'):]
    section = section[:section.index("</section>")]
    assert section.count("accepted risk") == 1
    assert "debug pod, removed next sprint" in section


def test_expiry_beyond_the_policy_maximum_is_refused_with_the_message(messy, as_alice):
    limit = OrgPolicy.load().policy().max_acceptance_days
    far = (timezone.localdate() + timedelta(days=limit + 5)).isoformat()
    response = _accept(as_alice, messy, expires_on=far)
    assert response.status_code == 400
    page = response.content.decode()
    assert f"The policy allows accepting a risk for at most {limit} days." in page
    assert RiskAcceptance.objects.count() == 0
    # The refused form comes back filled in, open, next to its check.
    form = page[page.index('id="accept-workload-privileged"'):]
    assert "debug pod, removed next sprint" in form[:form.index("</form>")]


@pytest.mark.parametrize(("fields", "message"), [
    ({"scope": "namespace", "namespace": ""}, "Name the namespace."),
    ({"scope": "workload", "name_pattern": ""}, "Name the workload (or a pattern)."),
    ({"reason": ""}, "This field is required."),
    ({"expires_on": ""}, "This field is required."),
])
def test_incomplete_acceptances_are_refused(messy, as_alice, fields, message):
    response = _accept(as_alice, messy, **fields)
    assert response.status_code == 400
    assert message.replace("(", "(") in response.content.decode()
    assert RiskAcceptance.objects.count() == 0


def test_revoking_restores_the_score(messy, as_alice):
    before = messy.snapshots.first().score
    _accept(as_alice, messy, scope="cluster", namespace="")
    acceptance = RiskAcceptance.objects.get()
    assert acceptance.namespace == ""
    response = as_alice.post(reverse("clusters:revoke-risk", args=[messy.pk, acceptance.pk]))
    assert response.status_code == 302
    assert messy.snapshots.first().score == before
    acceptance.refresh_from_db()
    assert acceptance.revoked_at is not None
    page = as_alice.get(url(messy)).content.decode()
    assert 'id="past-acceptances"' in page and "revoked" in page


def test_auditors_see_everything_but_no_forms(messy, as_alice, as_ava):
    _accept(as_alice, messy)
    page = as_ava.get(url(messy)).content.decode()
    assert _group_ids(page)
    assert 'id="active-acceptances"' in page
    assert "accept-form" not in page and "Revoke" not in page
    assert _accept(as_ava, messy).status_code == 403
    acceptance = RiskAcceptance.objects.get()
    assert as_ava.post(reverse("clusters:revoke-risk", args=[messy.pk, acceptance.pk])).status_code == 403


def test_other_owners_get_404(messy, as_bob):
    assert as_bob.get(url(messy)).status_code == 404
    assert _accept(as_bob, messy).status_code == 404
    assert RiskAcceptance.objects.count() == 0


def test_query_count_does_not_grow_with_findings(messy, as_alice, django_assert_max_num_queries):
    _accept(as_alice, messy)
    with CaptureQueriesContext(connection) as small:
        as_alice.get(url(messy), {"resolved": "1"})
    seen = messy.snapshots.first()
    for index in range(80):
        finding(messy, seen, "workload.no-resource-limits", namespace=f"ns{index % 9}",
                name=f"w{index}", container="c")
        finding(messy, seen, "image.latest-tag", namespace=f"ns{index % 9}", name=f"w{index}",
                resolved=seen)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = as_alice.get(url(messy), {"resolved": "1"}).content.decode()
    with django_assert_max_num_queries(11):
        as_alice.get(url(messy))
    assert "workload.no-resource-limits" in _group_ids(page)


def test_checklist_leaves_the_snapshots_node_list_unread(messy, as_alice,
                                                         django_assert_max_num_queries):
    newest = Snapshot.objects.latest_successful(messy)
    newest.nodes = [{"name": f"node-{i}", "os_image": "Ubuntu 24.04.1 LTS"} for i in range(500)]
    newest.save()
    light = Snapshot.objects.latest_successful(messy, detail=False)
    assert {"nodes", "coverage", "category_scores"} <= light.get_deferred_fields()
    assert (light.pk, light.score, light.grade) == (newest.pk, newest.score, newest.grade)
    with CaptureQueriesContext(connection) as counted:
        as_alice.get(url(messy))
    # No deferred field is read later, one query at a time.
    with django_assert_max_num_queries(len(counted.captured_queries)):
        page = as_alice.get(url(messy)).content.decode()
    assert "node-0" not in page
    assert not any('"nodes"' in q["sql"] for q in counted.captured_queries)


def test_a_critical_is_listed_before_tag_hygiene_even_where_it_gains_fewer_points(alice,
                                                                                  as_alice):
    from tests.factories import ClusterFactory

    cluster = ClusterFactory(owners=[alice])
    seen = snapshot(cluster, timezone.now() - timedelta(hours=1), workload_count=11,
                    namespace_count=5)
    saturated_workloads(cluster, seen)
    groups = checklist.build(cluster, timezone.now(), checklist.Filters(), Policy()).groups
    gained = {g.check_id: g.points_gained for g in groups}
    assert gained["image.latest-tag"] > gained["workload.privileged"]
    order = _group_ids(as_alice.get(url(cluster)).content.decode())
    assert order[:2] == ["workload.privileged", "workload.host-path-volumes"]
    assert order.index("image.latest-tag") > order.index("workload.host-path-volumes")
def _section(page: str, check_id: str) -> str:
    section = page[page.index(f'id="check-{check_id.replace(".", "-")}"'):]
    return section[:section.index("</section>")]


@pytest.fixture
def eks_127(emulate, alice):
    """The neglected scenario, polled for real: EKS 1.27 with old nodes."""
    from posture.domain.polling import poll
    from tests.emulated import register

    cluster = register(emulate("neglected"), "neglected")
    cluster.owners.add(alice)
    snapshot = poll(cluster.pk).snapshot
    assert (snapshot.provider, snapshot.kubernetes_minor) == ("eks", "1.27")
    return cluster


def test_an_eks_clusters_checklist_shows_only_eks_commands_with_the_next_minor(eks_127, as_alice):
    page = as_alice.get(url(eks_127)).content.decode()
    eol = _section(page, "version.kubernetes-eol")
    assert "aws eks update-cluster-version --name CLUSTER --kubernetes-version 1.28" in eol
    assert "--kubernetes-version 1.28" in eol and "1.33" not in eol
    assert "Commands for Amazon EKS" in eol
    assert "upgrade it to <strong>1.28</strong>" in eol
    # Every provider-dependent fix on the page is EKS's: no other provider's CLI anywhere.
    for other in ("gcloud ", "az aks", "kubeadm upgrade", "1.Y", "1.X"):
        assert other not in page, other
    node_checks = [c for c in _group_ids(page) if c.startswith("node.")]
    assert node_checks, "the scenario has node findings"
    for check_id in node_checks:
        assert "aws eks " in _section(page, check_id), check_id


def test_catalog_markdown_is_rendered_without_raw_backticks(eks_127, as_alice):
    page = as_alice.get(url(eks_127)).content.decode()
    assert "`" not in page
    assert "<code>" in page


def test_catalog_text_is_escaped_while_its_markdown_is_rendered(messy, as_alice, monkeypatch):
    from dataclasses import replace

    from posture.checks import CATALOG

    hostile = replace(
        CATALOG["workload.privileged"],
        why="Set `privileged: false` <script>alert(1)</script> and **never** "
            "[this](javascript:alert(2)).",
        fix="Drop it <img src=x onerror=alert(3)>.",
    )
    monkeypatch.setitem(CATALOG, "workload.privileged", hostile)
    section = _section(as_alice.get(url(messy)).content.decode(), "workload.privileged")
    assert "<code>privileged: false</code>" in section
    assert "<strong>never</strong>" in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "&lt;img src=x onerror=alert(3)&gt;" in section
    assert "<script" not in section and "<img" not in section
    assert 'href="javascript' not in section
