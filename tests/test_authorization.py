"""Every URL of the project, for every persona: who gets what.

The test walks the URL resolver, so a new view is covered the moment it is routed: a URL name
missing from RULES fails the suite until someone decides who may use it. ``alice`` owns cluster
A (every object below belongs to A), ``bob`` owns B, ``sam`` is the security team, ``ava`` an
auditor, ``anon`` is logged out.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from posture.domain.alerts import create_rule
from posture.domain.models import Finding, RiskAcceptance, Snapshot

pytestmark = pytest.mark.django_db

LOGIN = "login-redirect"  # 302 to the login page
OK = {200, 302}
PERSONAS = ("anon", "alice", "bob", "sam", "ava")

# name -> (method, {persona: expected}) ; expected is a status, a set of statuses, or LOGIN.
_cluster_read = {"anon": LOGIN, "alice": 200, "bob": 404, "sam": 200, "ava": 200}
_cluster_write_get = {"anon": LOGIN, "alice": 200, "bob": 404, "sam": 200, "ava": 403}
_cluster_write_post = {"anon": LOGIN, "alice": OK, "bob": 404, "sam": OK, "ava": 403}
# An empty form is refused as invalid (400) — after the access check let the user through.
_form_post = {**_cluster_write_post, "alice": {200, 302, 400}, "sam": {200, 302, 400}}
_any_user = {"anon": LOGIN, "alice": 200, "bob": 200, "sam": 200, "ava": 200}
_fleet_readers = {"anon": LOGIN, "alice": 403, "bob": 403, "sam": 200, "ava": 200}
_api_read = {"anon": 401, "alice": 200, "bob": 404, "sam": 200, "ava": 200}
_public = {p: 200 for p in PERSONAS}

RULES: dict[str, tuple[str, dict[str, object]]] = {
    "home": ("GET", _any_user),
    "login": ("GET", {"anon": 200, "alice": 302, "bob": 302, "sam": 302, "ava": 302}),
    "logout": ("POST", {p: 302 for p in PERSONAS}),
    # Single sign-on answers 404 until POSTURE_OIDC_ISSUER is set (tests/oidc/ switch it on).
    "oidc:login": ("GET", {p: 404 for p in PERSONAS}),
    "oidc:callback": ("GET", {p: 404 for p in PERSONAS}),
    "policy": ("GET", _any_user),
    "audit": ("GET", _fleet_readers),
    "audit-csv": ("GET", _fleet_readers),
    "findings-csv": ("GET", _any_user),
    "clusters:findings-csv": ("GET", _cluster_read),
    "metrics": ("GET", {p: 404 for p in PERSONAS}),  # off until POSTURE_METRICS_TOKEN is set
    "vocabulary-css": ("GET", _public),
    # The health probes: no login, they show nothing about clusters (docs/operations.md).
    "healthz": ("GET", _public),
    "readyz": ("GET", _public),
    "clusters:list": ("GET", _any_user),
    "clusters:register": ("GET", {"anon": LOGIN, "alice": 200, "bob": 200, "sam": 200,
                                  "ava": 403}),
    "clusters:detail": ("GET", _cluster_read),
    "clusters:poll": ("POST", _cluster_write_post),
    "clusters:poll-status": ("GET", _cluster_read),
    "clusters:settings": ("GET", _cluster_write_get),
    "clusters:delete": ("GET", _cluster_write_get),
    "clusters:trends": ("GET", _cluster_read),
    "clusters:checklist": ("GET", _cluster_read),
    "clusters:accept-risk": ("POST", _form_post),
    "clusters:revoke-risk": ("POST", _cluster_write_post),
    "clusters:issue-markdown": ("GET", _cluster_read),
    "clusters:report": ("GET", _cluster_read),
    # The user's open fixes and the fleet report: only the clusters each may see (bob: none of
    # A's — tests/posture/test_tickets.py and test_report.py read the bodies).
    "fixes-csv": ("GET", _any_user),
    "fixes-json": ("GET", _any_user),
    "fleet-report": ("GET", _any_user),
    "finding": ("GET", _cluster_read),
    # Fleet-wide pages answer everyone, each with only the clusters they may see (bob: none of
    # A's findings — tests/posture/test_fleet_findings.py reads the bodies).
    "fleet-findings": ("GET", _any_user),
    "fleet-findings-csv": ("GET", _any_user),
    "fleet-check": ("GET", _any_user),
    "fleet-check-csv": ("GET", _any_user),
    "clusters:vulnerabilities": ("GET", _cluster_read),
    "clusters:vulnerabilities-csv": ("GET", _cluster_read),
    "clusters:who-can": ("GET", _cluster_read),
    "clusters:frameworks": ("GET", _cluster_read),
    "clusters:framework": ("GET", _cluster_read),
    "clusters:framework-csv": ("GET", _cluster_read),
    # Per control, only the clusters each may see (tests/posture/test_frameworks_pages.py).
    "frameworks": ("GET", _any_user),
    "framework": ("GET", _any_user),
    "framework-csv": ("GET", _any_user),
    "framework-control": ("GET", _any_user),
    "digest:preferences": ("GET", _any_user),
    # Each persona sees their own rules and deliveries (fleet-wide roles: all); alice's rule
    # is changed by alice and the security team only.
    "alert-rules": ("GET", _any_user),
    "alert-outbox": ("GET", _any_user),
    "alert-rule-edit": ("GET", _cluster_write_get),
    "digest:unsubscribe": ("GET", {p: {400, 404} for p in PERSONAS}),  # a forged token
    "api:openapi": ("GET", _public),
    "api:clusters": ("GET", {"anon": 401, "alice": 200, "bob": 200, "sam": 200, "ava": 200}),
    "api:cluster": ("GET", _api_read),
    "api:snapshots": ("GET", _api_read),
    "api:findings": ("GET", _api_read),
    "api:scorecard": ("GET", _api_read),
    "api:fleet-findings": ("GET", {"anon": 401, "alice": 200, "bob": 200, "sam": 200,
                                   "ava": 200}),
    "api:vulnerabilities": ("GET", _api_read),
    "api:cluster-framework": ("GET", _api_read),
    "api:framework": ("GET", {"anon": 401, "alice": 200, "bob": 200, "sam": 200, "ava": 200}),
}


def walk(patterns=None, namespace: str = "", prefix: str = ""):
    """Yield (name, route) for every named URL pattern outside the admin."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else None,
                   prefix + str(entry.pattern))


@pytest.mark.threat('A new page ships without an access decision',
                     'The URL walk fails for any URL without a rule')
def test_every_url_has_a_rule():
    routes = list(walk())
    unnamed = [route for name, route in routes if name is None]
    assert unnamed == [], f"name these URLs so access rules can refer to them: {unnamed}"
    missing = sorted({name for name, _ in routes} - set(RULES))
    assert missing == [], f"decide who may use these URLs and add them to RULES: {missing}"
    stale = sorted(set(RULES) - {name for name, _ in routes})
    assert stale == [], f"RULES names URLs that no longer exist: {stale}"


@pytest.fixture
def world(alice, bob, sam, ava, cluster_a, cluster_b):
    snap = Snapshot.objects.create(cluster=cluster_a, taken_at=timezone.now(), status="ok",
                                   score=70.0, grade="C", node_count=1, workload_count=1,
                                   namespace_count=1, kubernetes_version="v1.35.2")
    finding = Finding.objects.create(
        cluster=cluster_a, check_id="workload.privileged", kind="Deployment", namespace="shop",
        name="web", container="app", severity="critical", category="workloads", message="m",
        first_seen=snap, first_seen_at=snap.taken_at)
    acceptance = RiskAcceptance.objects.create(
        cluster=cluster_a, check_id="workload.privileged", reason="r", created_by=alice,
        expires_at=timezone.now() + timedelta(days=5))
    rule, _ = create_rule(alice, recipient=alice, name="drops", kind="grade-dropped",
                          threshold=0, channel="email")
    clients = {"anon": Client()}
    for user in (alice, bob, sam, ava):
        clients[user.username] = Client()
        clients[user.username].force_login(user)
    return {"clients": clients, "cluster": cluster_a, "finding": finding,
            "acceptance": acceptance, "rule": rule}


def url_for(name: str, route: str, world) -> str:
    kwargs: dict[str, object] = {}
    if "<int:pk>" in route:
        kwargs["pk"] = {"finding": world["finding"].pk,
                        "alert-rule-edit": world["rule"].pk}.get(name, world["cluster"].pk)
    if "<int:acceptance_pk>" in route:
        kwargs["acceptance_pk"] = world["acceptance"].pk
    if "<str:check_id>" in route:
        kwargs["check_id"] = world["finding"].check_id
    if "<str:framework_id>" in route:
        kwargs["framework_id"] = "cis"
    if "<str:control_id>" in route:
        kwargs["control_id"] = "5.2.2"
    if "<str:token>" in route:
        kwargs["token"] = "forged-token"
    return reverse(name, kwargs=kwargs)


def check(status: int, location: str, expected: object) -> bool:
    if expected == LOGIN:
        return status == 302 and location.startswith(reverse("login"))
    if isinstance(expected, set):
        return status in expected
    return status == expected


@pytest.mark.threat("A user reads or changes another owner's cluster (IDOR)",
                     'One access helper per object type; 404 for what the user may not see, 403 for read-only roles; every URL checked for every persona')
@pytest.mark.threat("A user reads or changes another owner's cluster (IDOR)",
                     'One access helper per object type; 404 for what the user may not see, 403 for read-only roles; every URL checked for every persona')
@pytest.mark.parametrize("name", sorted(RULES))
def test_who_gets_what(world, name):
    routes = dict((n, r) for n, r in walk())
    method, expectations = RULES[name]
    failures = []
    for persona in PERSONAS:
        if name == "clusters:revoke-risk":  # each persona gets an acceptance still there to revoke
            world["acceptance"] = RiskAcceptance.objects.create(
                cluster=world["cluster"], check_id="workload.privileged", reason="r",
                expires_at=timezone.now() + timedelta(days=5))
        client = world["clients"][persona]
        url = url_for(name, routes[name], world)
        response = client.post(url, {}) if method == "POST" else client.get(url)
        location = response.get("Location", "")
        if not check(response.status_code, location, expectations[persona]):
            failures.append(f"{persona}: {method} {url} -> {response.status_code} {location}, "
                            f"expected {expectations[persona]}")
    assert failures == []


def test_admin_is_for_staff_only(world):
    for persona in ("alice", "bob", "ava", "anon"):
        response = world["clients"][persona].get(reverse("admin:index"))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
