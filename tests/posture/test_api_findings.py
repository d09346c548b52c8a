"""``/api/v1/findings/``: findings across the visible clusters, filtered, page by page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from posture.domain.models import Finding, RiskAcceptance
from posture.web.api.auth import create_token
from posture.web.api.findings import encode_cursor
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import finding, snapshot
from tests.posture.test_api import validate

pytestmark = pytest.mark.django_db

PATH = "/api/v1/findings/"
PRIV = "workload.privileged"
LATEST = "image.latest-tag"


def url(**params) -> str:
    from urllib.parse import urlencode

    return reverse("api:fleet-findings") + ("?" + urlencode(params) if params else "")


def get(client: Client, **params):
    response = client.get(url(**params))
    body = response.json()
    if response.status_code in (200, 400):
        validate(body, PATH, str(response.status_code))
    return response.status_code, body


@pytest.fixture
def fleet(cluster_a, cluster_b):
    now = timezone.now()
    cluster_a.labels = {"env": "prod"}
    cluster_a.save()
    a_seen = snapshot(cluster_a, now - timedelta(days=2))
    b_seen = snapshot(cluster_b, now - timedelta(days=2))
    gone = snapshot(cluster_a, now - timedelta(days=1))
    finding(cluster_a, a_seen, PRIV, namespace="shop", name="web", container="app")
    finding(cluster_a, a_seen, LATEST, namespace="shop", name="web", container="app")
    finding(cluster_a, a_seen, PRIV, namespace="shop", name="old", resolved=gone)
    finding(cluster_b, b_seen, PRIV, namespace="tools", name="debug")
    return {"a": cluster_a, "b": cluster_b}


def test_lists_findings_of_every_visible_cluster(fleet, as_sam):
    status, body = get(as_sam)
    assert status == 200
    assert {(f["cluster"]["name"], f["name"], f["check"]) for f in body["findings"]} == {
        ("cluster-a", "web", PRIV), ("cluster-a", "web", LATEST), ("cluster-b", "debug", PRIV)}
    assert body["next"] is None
    ids = [f["id"] for f in body["findings"]]
    assert ids == sorted(ids)


def test_an_owner_gets_only_their_clusters(fleet, as_bob):
    _, body = get(as_bob)
    assert {f["cluster"]["name"] for f in body["findings"]} == {"cluster-b"}
    _, body = get(as_bob, check=PRIV, status="all")
    assert {f["cluster"]["name"] for f in body["findings"]} == {"cluster-b"}


def test_a_token_sees_what_its_user_sees(fleet, alice):
    _, token = create_token(alice, "ci")
    response = Client().get(url(check=PRIV), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert [(f["cluster"]["name"], f["name"]) for f in response.json()["findings"]] == [
        ("cluster-a", "web")]


def test_anonymous_is_401(fleet, anon):
    assert anon.get(url()).status_code == 401


def test_filters(fleet, as_sam):
    def names(**params):
        status, body = get(as_sam, **params)
        assert status == 200, body
        return sorted((f["cluster"]["name"], f["name"], f["check"]) for f in body["findings"])

    assert names(check=PRIV) == [("cluster-a", "web", PRIV), ("cluster-b", "debug", PRIV)]
    assert names(severity="medium") == [("cluster-a", "web", LATEST)]
    assert names(category="images") == [("cluster-a", "web", LATEST)]
    assert names(cluster="cluster-b") == [("cluster-b", "debug", PRIV)]
    assert names(cluster=str(fleet["b"].pk)) == [("cluster-b", "debug", PRIV)]
    assert names(label="env=prod", check=PRIV) == [("cluster-a", "web", PRIV)]
    assert names(label="env=nowhere") == []
    assert names(status="resolved") == [("cluster-a", "old", PRIV)]
    assert len(names(status="all")) == 4


def test_accepted_findings_are_marked(fleet, as_sam, alice):
    until = timezone.now() + timedelta(days=4)
    RiskAcceptance.objects.create(cluster=fleet["a"], check_id=LATEST, name_pattern="w*",
                                  reason="r", expires_at=until, created_by=alice)
    _, body = get(as_sam, status="all")
    status = {(f["name"], f["check"]): (f["status"], f["accepted_until"])
              for f in body["findings"]}
    assert status[("web", LATEST)] == ("accepted", until.isoformat())
    assert status[("web", PRIV)] == ("open", None)
    assert status[("old", PRIV)] == ("resolved", None)


def test_pages_follow_next_to_the_end_without_repeats(as_sam):
    cluster = ClusterFactory(name="big")
    seen = snapshot(cluster, timezone.now() - timedelta(days=1))
    for i in range(23):
        finding(cluster, seen, PRIV, namespace="ns", name=f"w{i:02d}")
    seen_ids: list[int] = []
    next_url = url(limit=10, check=PRIV)
    pages = 0
    while next_url:
        response = as_sam.get(next_url)
        assert response.status_code == 200
        body = response.json()
        validate(body, PATH)
        seen_ids += [f["id"] for f in body["findings"]]
        next_url = body["next"]
        pages += 1
        if next_url:
            parts = urlsplit(next_url)
            assert parts.scheme == "http" and parts.path == reverse("api:fleet-findings")
            # The filters travel with the cursor.
            assert parse_qs(parts.query)["check"] == [PRIV]
    assert pages == 3
    assert seen_ids == sorted(Finding.objects.filter(cluster=cluster).values_list("pk", flat=True))


def test_a_finding_added_between_pages_is_not_missed(as_sam):
    cluster = ClusterFactory(name="growing")
    seen = snapshot(cluster, timezone.now() - timedelta(days=1))
    for i in range(3):
        finding(cluster, seen, PRIV, namespace="ns", name=f"w{i}")
    first = as_sam.get(url(limit=2)).json()
    finding(cluster, seen, PRIV, namespace="ns", name="new")
    rest = as_sam.get(first["next"]).json()
    assert [f["name"] for f in first["findings"] + rest["findings"]] == ["w0", "w1", "w2", "new"]


@pytest.mark.parametrize(("params", "message"), [
    ({"check": "workload.nope"}, "check: no check has the id"),
    ({"severity": "severe"}, "severity must be one of critical, high"),
    ({"category": "nope"}, "category must be one of"),
    ({"label": "env"}, "label must read key=value"),
    ({"status": "closed"}, "status must be open, resolved or all"),
    ({"limit": "many"}, "limit must be a whole number from 1 to 1000"),
    ({"limit": "0"}, "limit must be a whole number"),
    ({"limit": "5000"}, "limit must be a whole number"),
    ({"cursor": "not-a-cursor"}, "cursor is not one this API gave out"),
    ({"cursor": encode_cursor(3)[:-2] + "!!"}, "cursor is not one this API gave out"),
])
def test_bad_parameters_get_a_specific_400(fleet, as_sam, params, message):
    status, body = get(as_sam, **params)
    assert status == 400 and body["error"].startswith(message)


@pytest.mark.threat("A user reads or changes another owner's cluster (IDOR)",
                    "One access helper per object type; 404 for what the user may not see, 403 "
                    "for read-only roles; every URL checked for every persona")
def test_a_cluster_the_caller_cannot_see_reads_as_missing(fleet, as_bob):
    for cluster in ("cluster-a", str(fleet["a"].pk), "no-such-cluster", "99999999"):
        response = as_bob.get(url(cluster=cluster))
        assert response.status_code == 404
        assert response.json() == {"error": "cluster: no such cluster"}


def test_query_count_does_not_grow_with_the_fleet(as_sam, django_assert_max_num_queries):
    def many(prefix: str, clusters: int, per: int) -> None:
        for i in range(clusters):
            cluster = ClusterFactory(name=f"{prefix}-{i}")
            seen = snapshot(cluster, timezone.now() - timedelta(days=1))
            for j in range(per):
                finding(cluster, seen, PRIV, namespace="ns", name=f"w{j}")
            RiskAcceptance.objects.create(cluster=cluster, check_id=PRIV, name_pattern="w1*",
                                          reason="r",
                                          expires_at=timezone.now() + timedelta(days=3))

    many("few", 2, 3)
    with CaptureQueriesContext(connection) as small:
        as_sam.get(url(limit=1000))
    many("many", 20, 30)
    # Session, user, groups, clusters, findings, acceptances, the policy.
    with django_assert_max_num_queries(min(7, len(small.captured_queries))):
        body = as_sam.get(url(limit=1000)).json()
    assert len(body["findings"]) == 606


def test_platform_managed_findings_are_flagged_by_the_policy(fleet, as_sam):
    from posture.domain.models import OrgPolicy

    seen = fleet["a"].snapshots.first()
    finding(fleet["a"], seen, PRIV, kind="DaemonSet", namespace="kube-system",
            name="kube-proxy")
    status, body = get(as_sam)
    assert status == 200
    flagged = {f["name"]: f["platform_managed"] for f in body["findings"]}
    assert flagged == {"web": False, "debug": False, "kube-proxy": True}
    # The cluster's own list says the same.
    own = as_sam.get(reverse("api:findings", args=[fleet["a"].pk])).json()["findings"]
    assert {f["name"]: f["platform_managed"] for f in own} == {"web": False, "kube-proxy": True}
    OrgPolicy.objects.update_or_create(pk=1, defaults={"document": {
        "score_platform_findings": True}})
    _, body = get(as_sam)
    assert not any(f["platform_managed"] for f in body["findings"])
