"""The collector reads Ingresses, quotas, limit ranges, ConfigMaps and token Secrets over real
HTTPS, and no ConfigMap value or Secret data ever reaches the inventory, the database or logs."""

from __future__ import annotations

import json
import logging

import pytest
from django.core import serializers

from clusters import collector, kube
from clusters.kubeconfig import credentials
from posture.checks import Policy, evaluate
from posture.checks.sensitive import SECRET_KEYS, SECRETS_NOT_READ
from posture.domain.models import Finding, Snapshot, SnapshotStatus
from posture.domain.polling import poll
from tests.emulated import register

FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=10), deadline_seconds=60)


def _collect(emulator, **options):
    opts = collector.Options(**{**FAST.__dict__, **options})
    return collector.collect(credentials(emulator.kubeconfig()), opts)


# The neglected scenario's credentials in ConfigMaps (its other values, such as the region,
# appear elsewhere in the cluster too).
_CONFIGMAP_CREDENTIALS = ("s3cr3t-wp-pass", "AKIAI44QH8DHBEXAMPLE")


def _served_values(emulator) -> list[str]:
    """The credentials the emulator serves in ConfigMaps, and every Secret data value."""
    served = {v for cm in emulator.objects("configmaps") for v in cm.get("data", {}).values()}
    assert set(_CONFIGMAP_CREDENTIALS) <= served
    values = list(_CONFIGMAP_CREDENTIALS)
    values += [v for s in emulator.objects("secrets") for v in s.get("data", {}).values()]
    return values


def test_configmaps_arrive_as_key_names_over_several_pages(emulate, caplog):
    emulator = emulate("neglected")
    caplog.set_level(logging.DEBUG)
    inventory = _collect(emulator, page_size=1, read_token_secrets=True)
    coverage = inventory["coverage"]
    for resource in ("ingresses", "resourcequotas", "limitranges", "configmaps", "secrets"):
        assert coverage[resource]["state"] == "read", resource
    assert coverage["ingresses"]["count"] == len(emulator.objects("ingresses")) == 1
    found = {cm["metadata"]["name"]: cm[SECRET_KEYS] for cm in inventory["configmaps"]}
    assert found == {"billing-env": ["S3_UPLOAD"], "wordpress-config": ["WORDPRESS_DB_PASSWORD"]}
    assert all("data" not in cm for cm in inventory["configmaps"])
    # Only the token Secret is kept (the emulator, unlike an API server, ignores the
    # fieldSelector, so the collector's own filter is what this shows), and only its metadata.
    assert inventory["secrets"] == [{
        "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "ops-bot-token", "namespace": "tools",
                     "creationTimestamp": inventory["secrets"][0]["metadata"]["creationTimestamp"],
                     "annotations": {"kubernetes.io/service-account.name": "ops-bot"}},
    }]
    values = _served_values(emulator)
    assert values, "the scenario must serve values for this test to mean anything"
    dumped = json.dumps(inventory)
    logged = caplog.text
    for value in values:
        assert value not in dumped
        assert value not in logged
    result = evaluate(inventory, Policy())
    checks = {f.check for f in result.findings}
    assert {"workload.secret-in-configmap", "access.service-account-token-secret",
            "network.ingress-without-tls", "network.service-selects-nothing",
            "network.no-default-deny-egress", "workload.namespace-without-quota",
            "workload.namespace-without-limitrange"} <= checks
    assert all(value not in json.dumps([f.to_dict() for f in result.findings])
               for value in values)


def test_secrets_are_not_read_unless_switched_on(emulate):
    emulator = emulate("neglected")
    before = emulator.requests_served
    inventory = _collect(emulator)
    assert inventory["secrets"] == []
    assert inventory["coverage"]["secrets"] == {
        "state": "absent", "count": 0, "message": SECRETS_NOT_READ}
    result = evaluate(inventory, Policy())
    assert "POSTURE_READ_TOKEN_SECRETS" in result.not_evaluated[
        "access.service-account-token-secret"]
    assert emulator.requests_served > before


def test_forbidden_reads_are_coverage_not_a_crash(emulate):
    inventory = _collect(emulate("denied"), read_token_secrets=True)
    coverage = inventory["coverage"]
    assert coverage["configmaps"]["state"] == "forbidden"
    assert coverage["ingresses"]["state"] == "forbidden"
    assert "configmaps" in coverage["configmaps"]["message"]
    assert coverage["resourcequotas"]["state"] == "read"
    result = evaluate(inventory, Policy())
    assert "forbidden" in result.not_evaluated["workload.secret-in-configmap"]
    assert "forbidden" in result.not_evaluated["network.ingress-without-tls"]


@pytest.mark.django_db
def test_a_poll_stores_no_value(emulate, caplog):
    emulator = emulate("neglected")
    caplog.set_level(logging.DEBUG)
    cluster = register(emulator, "neglected")
    opts = collector.Options(**{**FAST.__dict__, "read_token_secrets": True})
    snapshot = poll(cluster.pk, opts=opts).snapshot
    assert snapshot.status == SnapshotStatus.OK, snapshot.error
    findings = Finding.objects.filter(cluster=cluster)
    assert findings.filter(check_id="workload.secret-in-configmap").count() == 2
    stored = serializers.serialize("json", [*Snapshot.objects.filter(cluster=cluster), *findings])
    for value in _served_values(emulator):
        assert value not in stored
        assert value not in caplog.text


def _guardrail_findings(inventory) -> list[str]:
    result = evaluate(inventory, Policy())
    assert "admission.no-guardrails" in result.evaluated, result.not_evaluated
    return sorted(f.container for f in result.findings if f.check == "admission.no-guardrails")


def test_admission_policies_of_every_engine_are_read(emulate):
    inventory = _collect(emulate("well-kept"), page_size=1)
    coverage = inventory["coverage"]
    assert coverage["validatingadmissionpolicies"]["count"] == 1
    assert coverage["validatingadmissionpolicybindings"]["count"] == 1
    assert coverage["kyvernoclusterpolicies"]["count"] == 2
    assert coverage["kyvernopolicies"]["state"] == "read"
    # Gatekeeper is not installed there: its API answers 404.
    assert coverage["gatekeeperconstraints"]["state"] == "absent"
    assert "Gatekeeper is not installed" in coverage["gatekeeperconstraints"]["message"]
    assert _guardrail_findings(inventory) == []


def test_gatekeeper_constraints_are_listed_per_template_kind(emulate):
    inventory = _collect(emulate("typical"), page_size=1)
    assert inventory["coverage"]["kyvernoclusterpolicies"]["state"] == "absent"
    kinds = sorted(c["kind"] for c in inventory["gatekeeperconstraints"])
    # K8sRequiredLabels is installed too, but says nothing about the guardrails: not listed.
    assert kinds == ["K8sAllowedRepos", "K8sDisallowedTags"]
    # The registry constraint only audits (dryrun); the :latest one denies.
    assert _guardrail_findings(inventory) == ["privileged", "registries"]


def test_a_cluster_without_admission_policies_misses_every_guardrail(emulate):
    inventory = _collect(emulate("neglected"))
    assert _guardrail_findings(inventory) == ["latest-tag", "privileged", "registries"]


def test_forbidden_admission_policies_leave_the_check_unevaluated(emulate):
    inventory = _collect(emulate("denied"))
    assert inventory["coverage"]["validatingadmissionpolicies"]["state"] == "forbidden"
    result = evaluate(inventory, Policy())
    assert "could not be read" in result.not_evaluated["admission.no-guardrails"]


def test_the_reader_role_grants_exactly_the_gatekeeper_kinds_that_are_read():
    from pathlib import Path

    import yaml

    from posture.checks.admission import GATEKEEPER_KINDS

    path = Path(__file__).resolve().parents[2] / "deploy" / "posture-reader.yaml"
    (role,) = [d for d in yaml.safe_load_all(path.read_text()) if d["kind"] == "ClusterRole"]
    rules = {tuple(r["apiGroups"]): set(r["resources"]) for r in role["rules"]}
    assert rules[("constraints.gatekeeper.sh",)] == GATEKEEPER_KINDS
    assert {"configmaps", "resourcequotas", "limitranges"} <= rules[("",)]
    assert "secrets" not in rules[("",)]  # opt-in: commented out in the file
    assert "ingresses" in rules[("networking.k8s.io",)]
