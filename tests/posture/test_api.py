"""The read-only API: authentication, visibility, shapes per the OpenAPI description."""

from datetime import timedelta

import jsonschema
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from posture.domain.models import Finding, RiskAcceptance, Snapshot
from posture.web.api.auth import create_token
from posture.web.api.openapi import SCHEMA
from tests.factories import ClusterFactory

pytestmark = pytest.mark.django_db


def validate(body, path, status="200"):
    """Validate ``body`` against the response schema the OpenAPI document gives ``path``."""
    operation = SCHEMA["paths"][path]["get"]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": SCHEMA["components"]},
                                    format_checker=jsonschema.FormatChecker()).validate(body)


def snapshot(cluster, days_ago=0, **fields):
    values = {"status": "ok", "score": 72.5, "grade": "C", "kubernetes_version": "v1.31.4",
              "node_count": 3, "workload_count": 10, "namespace_count": 4,
              "finding_counts": {"severity": {"critical": 1, "high": 2}}}
    values.update(fields)
    return Snapshot.objects.create(cluster=cluster, taken_at=timezone.now() - timedelta(
        days=days_ago), **values)


def finding(cluster, snap, **fields):
    values = {"check_id": "workload.privileged", "kind": "Deployment", "namespace": "shop",
              "name": "web", "container": "app", "severity": "critical", "category": "workloads",
              "message": "privileged"}
    values.update(fields)
    return Finding.objects.create(cluster=cluster, first_seen=snap, first_seen_at=snap.taken_at,
                                  **values)


def test_anonymous_gets_401_with_a_hint(anon):
    response = anon.get(reverse("api:clusters"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_sees_what_its_user_sees(alice, cluster_a, cluster_b):
    snapshot(cluster_a)
    _, token = create_token(alice, "ci")
    body = Client().get(reverse("api:clusters"), HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert [c["name"] for c in body["clusters"]] == ["cluster-a"]
    validate(body, "/api/v1/clusters/")
    first = body["clusters"][0]
    assert (first["score"], first["grade"], first["kubernetes_version"]) == (72.5, "C", "v1.31.4")
    assert first["kubernetes_support"] == "eol" and first["kubernetes_eol"] == "2025-11-11"
    assert first["open_findings_by_severity"] == {"critical": 1, "high": 2}
    assert first["platform_findings_by_severity"] == {}


@pytest.mark.threat('A revoked or guessed API token is accepted',
                     'Tokens checked by digest, revocation honoured, 401 otherwise')
def test_revoked_or_wrong_tokens_are_refused(alice):
    row, token = create_token(alice, "ci")
    row.revoked_at = timezone.now()
    row.save()
    for header in (f"Bearer {token}", "Bearer pst_nope", "Basic abc"):
        assert Client().get(reverse("api:clusters"), HTTP_AUTHORIZATION=header).status_code == 401


@pytest.mark.threat('API tokens stolen from the database',
                     'Only SHA-256 digests of tokens are stored')
def test_only_a_hash_of_the_token_is_stored(alice):
    row, token = create_token(alice, "ci")
    assert token not in (row.digest, row.prefix) and len(row.digest) == 64


@pytest.mark.threat("A user reads or changes another owner's cluster (IDOR)",
                     'One access helper per object type; 404 for what the user may not see, 403 for read-only roles; every URL checked for every persona')
@pytest.mark.threat("A user reads or changes another owner's cluster (IDOR)",
                     'One access helper per object type; 404 for what the user may not see, 403 for read-only roles; every URL checked for every persona')
@pytest.mark.parametrize("name", ["api:cluster", "api:snapshots", "api:findings",
                                  "api:scorecard", "api:vulnerabilities"])
def test_another_owners_cluster_is_404(as_bob, cluster_a, name):
    assert as_bob.get(reverse(name, args=[cluster_a.pk])).status_code == 404


def test_session_works_and_the_security_team_sees_all(as_sam, cluster_a, cluster_b):
    names = [c["name"] for c in as_sam.get(reverse("api:clusters")).json()["clusters"]]
    assert names == ["cluster-a", "cluster-b"]


def test_writes_are_refused(as_alice):
    assert as_alice.post(reverse("api:clusters")).status_code == 405


def test_cluster_and_snapshots_validate_and_page(as_alice, cluster_a):
    for day in range(5):
        snapshot(cluster_a, days_ago=day, score=50.0 + day)
    body = as_alice.get(reverse("api:cluster", args=[cluster_a.pk])).json()
    jsonschema.validate(body, {**SCHEMA["components"]["schemas"]["Cluster"]})
    assert body["score"] == 50.0
    page = as_alice.get(reverse("api:snapshots", args=[cluster_a.pk]), {"limit": 2}).json()
    validate(page, "/api/v1/clusters/{pk}/snapshots/")
    assert [s["score"] for s in page["snapshots"]] == [50.0, 51.0]
    rest = as_alice.get(reverse("api:snapshots", args=[cluster_a.pk]),
                        {"limit": 10, "before": page["next_before"]}).json()
    assert [s["score"] for s in rest["snapshots"]] == [52.0, 53.0, 54.0]
    assert rest["next_before"] is None


def test_findings_carry_their_status(as_alice, alice, cluster_a):
    snap = snapshot(cluster_a)
    finding(cluster_a, snap)
    finding(cluster_a, snap, check_id="image.latest-tag", name="api", severity="medium",
            category="images")
    finding(cluster_a, snap, name="old", resolved_at=snap.taken_at, resolved_in=snap)
    RiskAcceptance.objects.create(cluster=cluster_a, check_id="image.latest-tag", reason="x",
                                  expires_at=timezone.now() + timedelta(days=3), created_by=alice)
    url = reverse("api:findings", args=[cluster_a.pk])
    body = as_alice.get(url).json()
    validate(body, "/api/v1/clusters/{pk}/findings/")
    assert {(f["name"], f["status"]) for f in body["findings"]} == {("web", "open"),
                                                                     ("api", "accepted")}
    every = as_alice.get(url, {"status": "all"}).json()["findings"]
    assert {f["status"] for f in every} == {"open", "accepted", "resolved"}
    assert as_alice.get(url, {"status": "bogus"}).status_code == 400


def test_cluster_list_query_count_does_not_grow(as_sam, django_assert_max_num_queries):
    for i in range(20):
        c = ClusterFactory(name=f"c-{i}")
        for day in range(3):
            snapshot(c, days_ago=day)
    with django_assert_max_num_queries(4):
        body = as_sam.get(reverse("api:clusters")).json()
    assert len(body["clusters"]) == 20 and body["next"] is None


def test_cluster_list_pages_by_name_with_an_opaque_cursor(as_sam, django_assert_max_num_queries):
    for i in range(7):
        snapshot(ClusterFactory(name=f"c-{i}"), score=60.0 + i)
    ClusterFactory(name="c-never")
    url = reverse("api:clusters")
    names: list[str] = []
    query = {"limit": "3"}
    while True:
        with django_assert_max_num_queries(4):
            body = as_sam.get(url, query).json()
        validate(body, "/api/v1/clusters/")
        names += [c["name"] for c in body["clusters"]]
        if body["next"] is None:
            break
        assert body["next"].startswith("http://testserver/api/v1/clusters/?limit=3&cursor=")
        query = {"limit": "3", "cursor": body["next"].split("cursor=")[1]}
    assert names == sorted(f"c-{i}" for i in range(7)) + ["c-never"]
    first = as_sam.get(url, {"limit": "1"}).json()["clusters"][0]
    assert (first["name"], first["score"], first["open_findings_by_severity"]) == (
        "c-0", 60.0, {"critical": 1, "high": 2})
    never = as_sam.get(url, {"cursor": query["cursor"]}).json()["clusters"][-1]
    assert (never["score"], never["last_poll"]) == (None, {"status": None, "at": None})
    for bad in ("nonsense", "eyJ2IjoxLCJhZnRlciI6MX0", "e30"):
        response = as_sam.get(url, {"cursor": bad})
        assert response.status_code == 400 and "cursor" in response.json()["error"]


def test_openapi_document_is_served_and_valid(anon):
    from jsonschema.validators import validator_for

    body = anon.get(reverse("api:openapi")).json()
    assert body["openapi"].startswith("3.1")
    for schema in body["components"]["schemas"].values():
        validator_for(schema).check_schema(schema)


def test_scorecard_answers_the_pages_figures_and_validates(as_alice, cluster_a):
    from posture.checks import Policy
    from posture.web.dashboard.scorecard import build

    snap = snapshot(cluster_a, kubernetes_version="v1.27.16", workload_count=4,
                    finding_counts={"severity": {}, "category": {}, "not_evaluated": {
                        "vulnerability.critical": "no reports",
                        "vulnerability.high": "no reports"}})
    finding(cluster_a, snap, check_id="version.kubernetes-eol", kind="Cluster", namespace="",
            name="", container="", category="version")
    finding(cluster_a, snap)
    finding(cluster_a, snap, kind="DaemonSet", namespace="kube-system", name="kube-proxy")
    finding(cluster_a, snap, check_id="image.latest-tag", name="api", severity="medium",
            category="images")
    for check in ("access.cluster-admin-binding", "access.anonymous-binding"):
        finding(cluster_a, snap, check_id=check, kind="ClusterRoleBinding", namespace="",
                name=check, container="", category="access")
    body = as_alice.get(reverse("api:scorecard", args=[cluster_a.pk])).json()
    validate(body, "/api/v1/clusters/{pk}/scorecard/")
    sc = build(cluster_a, timezone.now(), Policy())
    assert (body["score"], body["grade"]) == (sc.score, str(sc.grade))
    assert body["stored_score"] == 72.5 and body["snapshot"]["id"] == snap.pk
    assert [c["cap"] for c in body["caps"]] == ["eol"]
    assert body["caps"][0]["cuts"] is False  # the score is below the cap already
    assert body["categories"]["vulnerabilities"] == {
        "score": None, "evaluated": False, "weight": 0.1, "effective_weight": 0.0,
        "deductions": []}
    assert [(f["rank"], f["check"], f["points_gained"]) for f in body["fixes"]] == [
        (i, f.check, f.points_gained) for i, f in enumerate(sc.card.fixes(), start=1)]
    assert body["fixes"][0]["check"] == "version.kubernetes-eol"
    assert body["fixes"][0]["lifts"] == ["eol"]
    assert body["shown_fixes"] == len(sc.fixes)
    assert body["path"] == {"target": str(sc.path.target), "steps": sc.path.steps,
                            "score": sc.path.score, "reachable": sc.path.reachable,
                            "blocked_by": []}
    from posture.domain.scorecard import rescore_latest

    rescore_latest(cluster_a)  # as a poll would store the counts
    cluster = as_alice.get(reverse("api:cluster", args=[cluster_a.pk])).json()
    assert cluster["open_findings_by_severity"]["critical"] == 4  # kube-proxy left out
    assert cluster["platform_findings_by_severity"]["critical"] == 1
    assert body["platform"] == 1 and body["platform_findings"] == [{
        "check": "workload.privileged", "severity": "critical", "count": 1,
        "resources": ["DaemonSet kube-system/kube-proxy"]}]
    regained = {d["check"]: d["regained"] for c in body["categories"].values()
                for d in c["deductions"]}
    assert regained == {f["check"]: f["points_gained"] for f in body["fixes"]}


def test_scorecard_of_a_cluster_never_polled_is_empty_not_an_error(as_alice, cluster_a):
    body = as_alice.get(reverse("api:scorecard", args=[cluster_a.pk])).json()
    validate(body, "/api/v1/clusters/{pk}/scorecard/")
    assert body["score"] is None and body["fixes"] == [] and body["path"] is None


def test_scorecard_query_count_does_not_grow_with_findings_or_nodes(alice, as_alice,
                                                                    django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.posture.test_scorecard import _cluster_with

    small = _cluster_with(alice, 2, 1)
    with CaptureQueriesContext(connection) as counted:
        as_alice.get(reverse("api:scorecard", args=[small.pk]))
    big = _cluster_with(alice, 60, 40)
    with django_assert_max_num_queries(len(counted.captured_queries)):
        body = as_alice.get(reverse("api:scorecard", args=[big.pk])).json()
    assert body["fixes"][0]["count"] == 60
    with django_assert_max_num_queries(10):
        as_alice.get(reverse("api:scorecard", args=[big.pk]))
