"""Fleet findings: one row per check across the visible clusters, a check's drill-down, CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from posture.checks import CATALOG, Policy
from posture.domain.models import Finding, RiskAcceptance
from posture.web.dashboard import fleet_findings
from posture.web.exports import CHECK_COLUMNS, COLUMNS
from tests.factories import ClusterFactory, UserFactory
from tests.posture.snapshot_factories import finding, snapshot

pytestmark = pytest.mark.django_db

PAGE = "fleet-findings"
HOSTILE = '<script>alert("x")</script>'
PRIV = "workload.privileged"
LATEST = "image.latest-tag"
ADMIN = "access.cluster-admin-binding"


def page_url(**params: str) -> str:
    from urllib.parse import urlencode

    return reverse(PAGE) + ("?" + urlencode(params) if params else "")


def check_url(check_id: str, **params: str) -> str:
    from urllib.parse import urlencode

    url = reverse("fleet-check", args=[check_id])
    return url + ("?" + urlencode(params) if params else "")


def rows_of(html: str) -> dict[str, str]:
    """Return each check row of the page's table, by check id."""
    table = html[html.index('id="fleet-findings-table"'):]
    table = table[:table.index("</table>")]
    return dict(re.findall(r'<tr data-check="([^"]+)"[^>]*>(.*?)</tr>', table, re.S))


def cells(row_html: str) -> list[str]:
    """Return a row's cells as text, tags and whitespace squeezed."""
    parts = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row_html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", p).split()) for p in parts]


def shows_cluster_a(html: str) -> bool:
    """Say whether a page shows anything of cluster A (its name, labels or namespaces)."""
    return bool(re.search(r"cluster-a(?!dmin)|shop|payments", html))


def build(user, policy: Policy | None = None, **query: str):
    from clusters.access import visible_clusters

    return fleet_findings.build(visible_clusters(user), fleet_findings.Filters.from_query(query),
                                timezone.now(), policy or Policy())


def by_check(page) -> dict[str, fleet_findings.CheckRow]:
    return {r.check_id: r for r in page.rows}


def csv_rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def fleet(cluster_a, cluster_b):
    """Clusters A (alice, env=prod) and B (bob, env=staging), both watched for 40 days.

    A: privileged in shop/web (two containers) and shop/api; latest tag in shop/web.
    B: privileged in tools/debug; a cluster-admin binding.
    """
    now = timezone.now()
    cluster_a.labels = {"env": "prod", "team": "payments"}
    cluster_a.save()
    cluster_b.labels = {"env": "staging"}
    cluster_b.save()
    out = {}
    for cluster in (cluster_a, cluster_b):
        first = snapshot(cluster, now - timedelta(days=40))
        latest = snapshot(cluster, now - timedelta(hours=1))
        out[cluster.name] = (first, latest)
    a_first, _ = out["cluster-a"]
    b_first, _ = out["cluster-b"]
    finding(cluster_a, a_first, PRIV, namespace="shop", name="web", container="app")
    finding(cluster_a, a_first, PRIV, namespace="shop", name="web", container="sidecar")
    finding(cluster_a, a_first, PRIV, namespace="shop", name="api", container="app")
    finding(cluster_a, a_first, LATEST, namespace="shop", name="web", container="app")
    finding(cluster_b, b_first, PRIV, namespace="tools", name="debug", container="sh")
    finding(cluster_b, b_first, ADMIN, kind="ClusterRoleBinding", namespace="",
            name="ops-admin")
    return {"a": cluster_a, "b": cluster_b, "snapshots": out, "now": now}


# --- The table of checks -------------------------------------------------------------------------


def test_one_row_per_check_counts_clusters_resources_and_findings(fleet, sam):
    rows = by_check(build(sam))
    assert set(rows) == {PRIV, LATEST, ADMIN}
    priv = rows[PRIV]
    # web has the problem in two containers: one resource, two findings.
    assert (priv.clusters, priv.resources, priv.findings, priv.accepted) == (2, 3, 4, 0)
    assert (rows[LATEST].clusters, rows[LATEST].resources) == (1, 1)
    assert priv.title == CATALOG[PRIV].title and priv.category == "workloads"


def test_rows_are_most_severe_first_then_most_clusters(fleet, sam):
    extra = ClusterFactory(name="cluster-c")
    seen = snapshot(extra, timezone.now() - timedelta(days=1))
    for name in ("x", "y", "z"):
        finding(extra, seen, "access.anonymous-binding", kind="ClusterRoleBinding",
                namespace="", name=name)
    finding(extra, seen, ADMIN, kind="ClusterRoleBinding", namespace="", name="x")
    finding(extra, seen, "workload.host-namespaces", namespace="a", name="b")
    # Critical: privileged and cluster-admin in two clusters each (privileged on more
    # resources), anonymous binding in one (with more resources); then high, then medium.
    assert [r.check_id for r in build(sam).rows] == [
        PRIV, ADMIN, "access.anonymous-binding", "workload.host-namespaces", LATEST]


def test_the_page_shows_each_row_with_its_numbers(fleet, as_sam):
    html = as_sam.get(page_url()).content.decode()
    row = cells(rows_of(html)[PRIV])
    assert row[0] == "Critical"
    assert row[1] == f"{CATALOG[PRIV].title} {PRIV}"
    assert row[2] == "Workloads"
    assert row[3:6] == ["2 of 2", "3", "4"]
    assert f'href="{check_url(PRIV)}"' in rows_of(html)[PRIV]
    assert 'id="nav-findings" aria-current="page"' in html


@pytest.mark.threat("A user reads or changes another owner's cluster (IDOR)",
                    "One access helper per object type; 404 for what the user may not see, 403 "
                    "for read-only roles; every URL checked for every persona")
def test_an_owner_counts_only_their_own_clusters(fleet, as_alice, as_bob):
    alice = rows_of(as_alice.get(page_url()).content.decode())
    assert set(alice) == {PRIV, LATEST}
    assert cells(alice[PRIV])[3:6] == ["1 of 1", "2", "3"]
    bob = as_bob.get(page_url()).content.decode()
    assert set(rows_of(bob)) == {PRIV, ADMIN}
    assert not shows_cluster_a(bob)


def test_a_team_owner_sees_the_team_clusters(fleet):
    carol = UserFactory(username="carol")
    team = Group.objects.create(name="payments-team")
    carol.groups.add(team)
    fleet["a"].owner_teams.add(team)
    assert set(by_check(build(carol))) == {PRIV, LATEST}


def test_nobody_sees_anything_without_visible_clusters(fleet, as_alice):
    dave = UserFactory(username="dave")
    from django.test import Client

    client = Client()
    client.force_login(dave)
    html = client.get(page_url()).content.decode()
    assert 'id="fleet-findings-empty"' in html and "fleet-findings-table" not in html


# --- Trend ---------------------------------------------------------------------------------------


def test_trend_is_the_change_in_resources_open_then_and_now(fleet, sam):
    a = fleet["a"]
    now = fleet["now"]
    first, _ = fleet["snapshots"]["cluster-a"]
    fixed = snapshot(a, now - timedelta(days=3))
    # Open 40 days ago, resolved 3 days ago: open then (both windows), not now.
    finding(a, first, PRIV, namespace="shop", name="cart", resolved=fixed)
    # New 10 days ago: open 7 days ago, not 30 days ago.
    ten = snapshot(a, now - timedelta(days=10))
    finding(a, ten, PRIV, namespace="shop", name="queue")
    # New 2 days ago: open now only.
    two = snapshot(a, now - timedelta(days=2))
    finding(a, two, PRIV, namespace="shop", name="search")
    row = by_check(build(sam))[PRIV]
    # Now: web, api, queue, search (A) + debug (B) = 5.
    # 7 days ago: web, api, cart, queue + debug = 5.  30 days ago: web, api, cart + debug = 4.
    assert row.resources == 5
    assert (row.change_7d, row.change_30d) == (0, 1)


def test_a_cluster_that_fixed_every_finding_still_counts_in_the_trend(fleet, sam):
    """B fixed its only privileged workload 3 days ago: the fleet went from 3 resources to 2."""
    b = fleet["b"]
    fixed = snapshot(b, fleet["now"] - timedelta(days=3))
    Finding.objects.filter(cluster=b, check_id=PRIV).update(resolved_in=fixed,
                                                             resolved_at=fixed.taken_at)
    row = by_check(build(sam))[PRIV]
    assert (row.clusters, row.resources, row.change_7d, row.change_30d) == (1, 2, -1, -1)


def test_a_reopened_problem_counts_once_at_any_time(fleet, sam):
    a = fleet["a"]
    now = fleet["now"]
    gone = snapshot(a, now - timedelta(days=20))
    back = snapshot(a, now - timedelta(days=5))
    first, _ = fleet["snapshots"]["cluster-a"]
    finding(a, first, LATEST, namespace="shop", name="api", resolved=gone)
    finding(a, back, LATEST, namespace="shop", name="api")
    row = by_check(build(sam))[LATEST]
    # web throughout; api 30 days ago and now, not in between.
    assert (row.resources, row.change_7d, row.change_30d) == (2, 1, 0)


def test_a_cluster_added_inside_the_window_is_no_regression(fleet, sam):
    late = ClusterFactory(name="late")
    seen = snapshot(late, fleet["now"] - timedelta(days=3))
    for i in range(4):
        finding(late, seen, ADMIN, kind="ClusterRoleBinding", namespace="", name=f"b{i}")
    row = by_check(build(sam))[ADMIN]
    # Five bindings now, but the four in the new cluster had no "then" to compare with.
    assert (row.resources, row.change_7d, row.change_30d) == (5, 0, 0)


def test_no_trend_when_no_cluster_was_watched_then(alice, as_alice):
    young = ClusterFactory(name="young", owners=[alice])
    seen = snapshot(young, timezone.now() - timedelta(days=2))
    finding(young, seen, PRIV, namespace="a", name="b")
    row = by_check(build(alice))[PRIV]
    assert (row.change_7d, row.change_30d) == (None, None)
    assert cells(rows_of(as_alice.get(page_url()).content.decode())[PRIV])[6:8] == ["—", "—"]


# --- Accepted risks ------------------------------------------------------------------------------


def test_accepted_risks_are_counted_apart_and_stay_listed(fleet, sam, alice, as_sam):
    a, b = fleet["a"], fleet["b"]
    now = timezone.now()
    RiskAcceptance.objects.create(cluster=a, check_id=PRIV, namespace="shop", name_pattern="w*",
                                  reason="vendor", expires_at=now + timedelta(days=9),
                                  created_by=alice)
    RiskAcceptance.objects.create(cluster=b, check_id=ADMIN, reason="break glass",
                                  expires_at=now + timedelta(days=9))
    # Neither an expired nor a revoked acceptance covers anything.
    RiskAcceptance.objects.create(cluster=b, check_id=PRIV, reason="old",
                                  expires_at=now - timedelta(days=1))
    RiskAcceptance.objects.create(cluster=a, check_id=LATEST, reason="gone",
                                  expires_at=now + timedelta(days=9), revoked_at=now)
    rows = by_check(build(sam))
    assert (rows[PRIV].findings, rows[PRIV].accepted, rows[PRIV].to_fix) == (4, 2, 2)
    assert (rows[ADMIN].findings, rows[ADMIN].accepted) == (1, 1)
    assert rows[LATEST].accepted == 0
    assert "2 accepted risks" in rows_of(as_sam.get(page_url()).content.decode())[PRIV]


@pytest.mark.parametrize("pattern", ["w*", "*", "?eb", "[wa]*", "[!w]*", "api", "*-x", "w[",
                                     "[]]*"])
def test_accepted_counts_agree_with_the_acceptance_rule(fleet, sam, pattern):
    """The SQL count of accepted findings equals RiskAcceptance.matches applied row by row."""
    a = fleet["a"]
    acceptance = RiskAcceptance.objects.create(
        cluster=a, check_id=PRIV, name_pattern=pattern, reason="r",
        expires_at=timezone.now() + timedelta(days=3))
    expected = sum(1 for f in Finding.objects.filter(cluster=a, check_id=PRIV)
                   if acceptance.matches(f.check_id, f.namespace, f.name))
    assert by_check(build(sam))[PRIV].accepted == expected
    detail = fleet_findings.check_detail(a.__class__.objects.all(), PRIV,
                                         fleet_findings.Filters(), timezone.now(), Policy())
    marked = sum(1 for g in detail.clusters for ns in g.namespaces for w in ns.workloads
                 for item in w.items if item.status == "accepted")
    assert marked == expected == sum(g.accepted for g in detail.clusters)


# --- Platform-managed findings ------------------------------------------------------------------


HOST_NS = "workload.host-namespaces"


@pytest.fixture
def platform(fleet):
    """The fleet, with the provider's kube-proxy privileged in both clusters (as on EKS) and a
    check whose only findings are on the platform (aws-node in kube-system, in A)."""
    a_first, _ = fleet["snapshots"]["cluster-a"]
    b_first, _ = fleet["snapshots"]["cluster-b"]
    for cluster, first in ((fleet["a"], a_first), (fleet["b"], b_first)):
        finding(cluster, first, PRIV, kind="DaemonSet", namespace="kube-system",
                name="kube-proxy", container="kube-proxy")
    finding(fleet["a"], a_first, HOST_NS, kind="DaemonSet", namespace="kube-system",
            name="aws-node", container="aws-node")
    return fleet


def test_platform_managed_findings_are_counted_apart_and_checks_with_only_those_come_last(
        platform, sam):
    rows = by_check(build(sam))
    priv = rows[PRIV]
    # The owners' figures are what they were without kube-proxy; it is counted on its own.
    assert (priv.clusters, priv.resources, priv.findings, priv.accepted) == (2, 3, 4, 0)
    assert (priv.platform, priv.platform_clusters) == (2, 2)
    host = rows[HOST_NS]
    assert (host.clusters, host.resources, host.findings, host.platform) == (0, 0, 0, 1)
    assert host.platform_only and str(host.severity) == "high"
    # A high on the platform alone ranks below the owners' medium.
    assert [r.check_id for r in build(sam).rows] == [PRIV, ADMIN, LATEST, HOST_NS]


def test_a_policy_that_scores_platform_findings_counts_them_like_any_other(platform, sam):
    rows = by_check(build(sam, Policy(score_platform_findings=True)))
    assert (rows[PRIV].clusters, rows[PRIV].resources, rows[PRIV].findings) == (2, 5, 6)
    assert rows[PRIV].platform == 0 and not rows[HOST_NS].platform_only


def test_platform_workloads_and_namespaces_follow_the_policy_finding_for_finding(fleet, sam):
    """The database's condition is Policy.set_apart's answer for every finding."""
    a = fleet["a"]
    first, _ = fleet["snapshots"]["cluster-a"]
    for kind, namespace, name in (
            ("DaemonSet", "monitoring", "ama-logs"), ("Deployment", "monitoring", "ama-logs"),
            ("DaemonSet", "monitoring", "prometheus"), ("Deployment", "gke-managed-cim", "x"),
            ("Deployment", "my-gke-managed-app", "x"), ("Namespace", "", "kube-system"),
            ("Namespace", "", "shop"), ("ClusterRoleBinding", "", "aks-service"),
            ("ClusterRoleBinding", "", "ops-admin")):
        finding(a, first, PRIV, kind=kind, namespace=namespace, name=name)
    policy = Policy.from_dict({
        "platform_namespaces": ["kube-system", "gke-managed-*"],
        "platform_workloads": ["DaemonSet/monitoring/ama-*", "ClusterRoleBinding/*/aks-*"]})
    rows = Finding.objects.all()
    condition = fleet_findings.platform_condition(policy, rows)
    matched = set(rows.filter(condition).values_list("pk", flat=True))
    expected = {f.pk for f in rows if policy.set_apart(f.kind, f.namespace, f.name)}
    assert matched == expected and len(expected) == 4
    assert by_check(build(sam, policy))[PRIV].platform == 4


def test_a_resolved_platform_finding_is_no_trend(fleet, sam):
    a = fleet["a"]
    first, _ = fleet["snapshots"]["cluster-a"]
    fixed = snapshot(a, fleet["now"] - timedelta(days=1))
    finding(a, first, PRIV, kind="DaemonSet", namespace="kube-system", name="kube-proxy",
            resolved=fixed)
    assert by_check(build(sam))[PRIV].change_7d == 0


def test_the_table_shows_the_platform_column_and_says_what_it_is(platform, as_sam):
    html = as_sam.get(page_url()).content.decode()
    rows = rows_of(html)
    assert cells(rows[PRIV])[5] == "4" and cells(rows[PRIV])[8] == "2 in 2 clusters"
    assert cells(rows[HOST_NS])[3:6] == ["0 of 2", "0", "0"]
    assert cells(rows[HOST_NS])[8] == "1 in 1 cluster"
    assert cells(rows[LATEST])[8] == "—"
    notes = html[html.index('id="fleet-findings-notes"'):]
    notes = " ".join(notes.split())
    assert "6 open findings, and 3 platform-managed, in 2 of 2 clusters" in notes
    assert "the other columns leave them out" in notes


def test_a_checks_page_marks_platform_findings_lists_them_last_and_links_their_section(
        platform, as_sam):
    html = as_sam.get(check_url(PRIV)).content.decode()
    summary = " ".join(re.sub(r"<[^>]+>", "", html[html.index('id="fleet-check-summary"'):]
                              .split("</p>")[0]).split())
    assert "4 open findings; besides, 2 platform-managed findings in 2 clusters" in summary
    section = html[html.index('id="cluster-{}"'.format(platform["a"].pk)):]
    section = section[:section.index("</section>")]
    assert section.count("platform-managed</span>") == 1
    assert section.index("shop") < section.index("kube-proxy")
    host = as_sam.get(check_url(HOST_NS)).content.decode()
    link = re.search(r'id="checklist-link-{}"'.format(platform["a"].pk), host)
    assert link and "#check-platform-workload-host-namespaces" in host[link.start() - 200:
                                                                       link.start()]


def test_csv_exports_say_which_findings_are_platform_managed(platform, as_sam):
    rows = {r["check"]: r for r in csv_rows(as_sam.get(reverse("fleet-findings-csv")))}
    assert (rows[PRIV]["open_findings"], rows[PRIV]["platform_findings"],
            rows[PRIV]["platform_clusters"]) == ("4", "2", "2")
    listed = csv_rows(as_sam.get(reverse("fleet-check-csv", args=[PRIV])))
    assert {r["name"] for r in listed if r["platform_managed"] == "yes"} == {"kube-proxy"}
    assert sum(r["platform_managed"] == "no" for r in listed) == 4


# --- Filters -------------------------------------------------------------------------------------


def test_filter_by_severity_narrows_findings(fleet, sam):
    assert set(by_check(build(sam, severity="critical"))) == {PRIV, ADMIN}
    assert set(by_check(build(sam, severity="medium"))) == {LATEST}
    assert build(sam, severity="low").rows == []


def test_severity_is_the_findings_own(fleet, sam):
    """A policy that raised a check's severity raises it for findings seen since; the row
    shows the most severe, and the filter reads each finding's severity."""
    first, _ = fleet["snapshots"]["cluster-b"]
    finding(fleet["b"], first, LATEST, namespace="tools", name="debug", severity="high")
    row = by_check(build(sam))[LATEST]
    assert (row.severity, row.findings) == ("high", 2)
    assert by_check(build(sam, severity="medium"))[LATEST].findings == 1
    assert by_check(build(sam, severity="high"))[LATEST].severity == "high"


def test_filter_by_category(fleet, sam):
    assert set(by_check(build(sam, category="access"))) == {ADMIN}
    assert set(by_check(build(sam, category="images"))) == {LATEST}


def test_filter_by_cluster_label(fleet, sam):
    page = build(sam, label="env=prod")
    assert set(by_check(page)) == {PRIV, LATEST}
    assert by_check(page)[PRIV].clusters == 1 and page.scope.polled == 1
    assert build(sam, label="env=nowhere").rows == []


def test_filter_by_owner_user_or_team(fleet, sam):
    team = Group.objects.create(name="platform")
    fleet["b"].owner_teams.add(team)
    assert set(by_check(build(sam, owner="user:alice"))) == {PRIV, LATEST}
    assert set(by_check(build(sam, owner="team:platform"))) == {PRIV, ADMIN}
    assert set(by_check(build(sam, owner="platform"))) == {PRIV, ADMIN}
    assert build(sam, owner="user:platform").rows == []


def test_owner_choices_are_the_owners_of_visible_clusters(fleet, alice, bob):
    fleet["b"].owner_teams.add(Group.objects.create(name="platform"))
    assert [c.value for c in build(alice).scope.owner_choices] == ["user:alice"]
    assert [c.value for c in build(bob).scope.owner_choices] == ["user:bob", "team:platform"]


def test_search_matches_check_ids_and_titles(fleet, sam):
    title_word = CATALOG[ADMIN].title.split()[-1]
    assert ADMIN in by_check(build(sam, q=title_word.upper()))
    assert set(by_check(build(sam, q="image."))) == {LATEST}


def test_filters_owners_cannot_use_to_see_more(fleet, as_bob):
    html = as_bob.get(page_url(owner="user:alice", label="env=prod")).content.decode()
    assert "fleet-findings-table" not in html
    assert 'id="fleet-findings-none"' in html
    assert not shows_cluster_a(html)


def test_a_bad_filter_value_is_said_and_dropped(fleet, as_sam):
    html = as_sam.get(page_url(severity="severe", label="env")).content.decode()
    assert "There is no severity “severe”" in html
    assert "A label filter reads key=value" in html
    assert set(rows_of(html)) == {PRIV, LATEST, ADMIN}


def test_the_page_keeps_filters_in_its_links(fleet, as_sam):
    html = as_sam.get(page_url(severity="critical", label="env=prod")).content.decode()
    assert f'href="{check_url(PRIV, severity="critical", label="env=prod")}"'.replace(
        "&", "&amp;") in html
    assert (reverse("fleet-findings-csv") + "?severity=critical&amp;label=env%3Dprod") in html


def test_not_evaluated_clusters_are_shown(fleet, sam):
    snapshot(fleet["b"], timezone.now(),
             finding_counts={"severity": {}, "category": {},
                             "not_evaluated": {LATEST: "images could not be read"}})
    assert by_check(build(sam))[LATEST].not_evaluated == 1


# --- A check's drill-down ------------------------------------------------------------------------


def test_drill_down_lists_every_cluster_namespace_and_container(fleet, as_sam):
    html = as_sam.get(check_url(PRIV)).content.decode()
    a, b = fleet["a"], fleet["b"]
    clusters = html[html.index('id="fleet-check-clusters"'):]
    clusters = clusters[:clusters.index("</table>")]
    assert re.findall(r'<tr data-cluster="(\d+)"', clusters) == [str(a.pk), str(b.pk)]
    checklist = reverse("clusters:checklist", args=[a.pk]) + "#check-workload-privileged"
    assert f'href="{checklist}"' in clusters
    section = html[html.index(f'id="cluster-{a.pk}"'):html.index(f'id="cluster-{b.pk}"')]
    assert section.count("<bdi>Deployment</bdi>/<bdi>web</bdi>") == 1
    assert section.count("<bdi>Deployment</bdi>/<bdi>api</bdi>") == 1
    for f in Finding.objects.filter(cluster=a, check_id=PRIV):
        assert f'href="{reverse("finding", args=[f.pk])}"' in section
    assert ">sidecar<" in section
    summary = html[html.index('id="fleet-check-summary"'):]
    assert "Open in <strong>2</strong> of 2 polled clusters" in summary


@pytest.mark.threat("A user reads or changes another owner's cluster (IDOR)",
                    "One access helper per object type; 404 for what the user may not see, 403 "
                    "for read-only roles; every URL checked for every persona")
def test_drill_down_for_an_owner_shows_only_their_clusters(fleet, as_bob):
    html = as_bob.get(check_url(PRIV)).content.decode()
    assert not shows_cluster_a(html)
    assert "<bdi>tools</bdi>" in html and "<bdi>Deployment</bdi>/<bdi>debug</bdi>" in html


def test_drill_down_of_a_check_with_nothing_visible_says_so(fleet, as_alice):
    html = as_alice.get(check_url(ADMIN)).content.decode()
    assert 'id="fleet-check-none"' in html and "ops-admin" not in html


def test_drill_down_of_an_unknown_check_is_404(fleet, as_sam):
    assert as_sam.get(check_url("workload.nope")).status_code == 404
    assert as_sam.get(reverse("fleet-check-csv", args=["workload.nope"])).status_code == 404


def test_drill_down_marks_accepted_findings(fleet, as_sam, alice):
    RiskAcceptance.objects.create(cluster=fleet["a"], check_id=PRIV, name_pattern="api",
                                  reason="vendor image, ticketed upstream",
                                  expires_at=timezone.now() + timedelta(days=9),
                                  created_by=alice)
    html = as_sam.get(check_url(PRIV)).content.decode()
    assert html.count("state-accepted") == 1 and "vendor image, ticketed upstream" in html
    assert html.count('class="state state-open"') == 3


def test_drill_down_keeps_cluster_filters(fleet, as_sam):
    html = as_sam.get(check_url(PRIV, label="env=staging")).content.decode()
    assert "<bdi>Deployment</bdi>/<bdi>debug</bdi>" in html
    assert "<bdi>Deployment</bdi>/<bdi>web</bdi>" not in html


def test_drill_down_leads_back_to_the_table_as_it_was_filtered(fleet, as_sam):
    html = as_sam.get(check_url(PRIV, category="workloads", q="priv")).content.decode()
    crumbs = html[html.index('class="crumbs"'):html.index("</nav>", html.index('class="crumbs"'))]
    assert f'href="{reverse(PAGE)}?category=workloads&amp;q=priv"' in crumbs


def test_drill_down_says_when_the_list_is_cut(fleet, as_sam, monkeypatch):
    monkeypatch.setattr(fleet_findings, "DETAIL_LIMIT", 2)
    html = as_sam.get(check_url(PRIV)).content.decode()
    assert 'id="fleet-check-truncated"' in html
    assert html.count('class="state state-open"') == 2
    # The counts still hold every finding.
    assert "<strong>4</strong> open findings" in html


@pytest.mark.threat("Cluster-controlled text runs as script in a page, chart, email or export",
                    "Autoescaping everywhere, hover text escaped before it reaches plotly, CSP "
                    "without inline scripts; a hostile scenario rendered on every page")
def test_cluster_text_is_escaped_on_both_pages(fleet, as_sam):
    a = fleet["a"]
    a.labels = {HOSTILE: HOSTILE}
    a.save()
    first, _ = fleet["snapshots"]["cluster-a"]
    finding(a, first, PRIV, namespace=HOSTILE, name=HOSTILE, container=HOSTILE,
            message=HOSTILE)
    for url in (page_url(), check_url(PRIV)):
        html = as_sam.get(url).content.decode()
        assert HOSTILE not in html
    assert "&lt;script&gt;" in as_sam.get(check_url(PRIV)).content.decode()


def test_a_checks_page_renders_the_catalogs_markdown_and_its_generic_commands(fleet, as_sam):
    html = as_sam.get(check_url(PRIV)).content.decode()
    assert "<code>privileged: true</code>" in html and "`" not in html
    eol = as_sam.get(check_url("node.runtime-eol")).content.decode()
    # Not one cluster's commands: every provider's, and where to find the fitted ones.
    assert "# Amazon EKS" in eol and "checklist has the commands for its own provider" in eol


# --- CSV -----------------------------------------------------------------------------------------


def test_checks_csv_has_the_table_as_numbers(fleet, as_sam):
    response = as_sam.get(reverse("fleet-findings-csv"))
    assert response["Content-Disposition"] == 'attachment; filename="posture-fleet-checks.csv"'
    rows = {r["check"]: r for r in csv_rows(response)}
    assert list(next(iter(rows.values()))) == list(CHECK_COLUMNS)
    priv = rows[PRIV]
    assert (priv["clusters_affected"], priv["clusters_polled"], priv["resources_affected"],
            priv["open_findings"], priv["accepted_findings"]) == ("2", "2", "3", "4", "0")
    assert priv["title"] == CATALOG[PRIV].title and priv["severity"] == "critical"


def test_checks_csv_follows_the_filters_and_visibility(fleet, as_alice):
    rows = csv_rows(as_alice.get(reverse("fleet-findings-csv") + "?category=images"))
    assert [r["check"] for r in rows] == [LATEST]
    rows = csv_rows(as_alice.get(reverse("fleet-findings-csv")))
    assert [r["check"] for r in rows] == [PRIV, LATEST]
    assert rows[0]["clusters_polled"] == "1"


def test_negative_changes_stay_numbers(fleet, sam, as_sam):
    a = fleet["a"]
    first, _ = fleet["snapshots"]["cluster-a"]
    fixed = snapshot(a, fleet["now"] - timedelta(days=1))
    finding(a, first, LATEST, namespace="shop", name="old", resolved=fixed)
    rows = {r["check"]: r for r in csv_rows(as_sam.get(reverse("fleet-findings-csv")))}
    assert rows[LATEST]["resources_change_7d"] == "-1"


@pytest.mark.threat('Spreadsheet formula injection through exported cluster text',
                    'Cells starting with = + - @ tab or CR get a leading apostrophe')
def test_drill_down_csv_lists_every_finding_formula_safe(fleet, as_alice):
    a = fleet["a"]
    first, _ = fleet["snapshots"]["cluster-a"]
    finding(a, first, PRIV, namespace="=cmd", name='=HYPERLINK("http://evil","x")',
            message="@SUM(A1)")
    response = as_alice.get(reverse("fleet-check-csv", args=[PRIV]))
    assert response["Content-Disposition"] == (
        'attachment; filename="posture-workload.privileged-findings.csv"')
    rows = csv_rows(response)
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 4 and {r["cluster"] for r in rows} == {"cluster-a"}
    hostile = next(r for r in rows if r["name"].startswith("'="))
    assert hostile["namespace"] == "'=cmd" and hostile["message"] == "'@SUM(A1)"


def test_drill_down_csv_has_every_finding_past_the_page_limit(fleet, as_sam, monkeypatch):
    monkeypatch.setattr(fleet_findings, "DETAIL_LIMIT", 1)
    assert len(csv_rows(as_sam.get(reverse("fleet-check-csv", args=[PRIV])))) == 4


# --- Query counts --------------------------------------------------------------------------------


def _many(prefix: str, n_clusters: int, per_cluster: int) -> None:
    now = timezone.now()
    checks = [PRIV, LATEST, "workload.host-namespaces", "workload.runs-as-root"]
    for i in range(n_clusters):
        cluster = ClusterFactory(name=f"{prefix}-{i}", labels={"env": "prod"})
        first = snapshot(cluster, now - timedelta(days=45))
        later = snapshot(cluster, now - timedelta(days=5))
        for j in range(per_cluster):
            resolved = later if j % 3 == 0 else None
            finding(cluster, first, checks[j % len(checks)], namespace=f"ns{j % 4}",
                    name=f"w{j}", container="app", resolved=resolved)
        RiskAcceptance.objects.create(cluster=cluster, check_id=PRIV, name_pattern="w1*",
                                      reason="r", expires_at=now + timedelta(days=3))


# Session, user, groups; the policy; clusters, owners, teams, acceptances, names under a wildcard
# acceptance, the distinct namespaces the policy is asked about; the GROUP BY of checks — and on
# a check's page, its GROUP BY of clusters and its findings.
@pytest.mark.parametrize(("url", "most"), [(page_url(), 11),
                                           (page_url(label="env=prod", owner="x"), 11),
                                           (check_url(PRIV), 13)])
def test_query_count_does_not_grow_with_the_fleet(as_sam, url, most,
                                                  django_assert_max_num_queries):
    _many("few", 2, 5)
    with CaptureQueriesContext(connection) as small:
        assert as_sam.get(url).status_code == 200
    _many("many", 25, 40)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert as_sam.get(url).status_code == 200
    with django_assert_max_num_queries(most):
        as_sam.get(url)
