"""Scenario files: the shipped ones load, bad ones fail clearly, the format does what it says."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml

from emulator import ScenarioError, load_scenario, shipped
from emulator.objects import image_status, split_image, template_hash
from emulator.scenario import parse, version_info

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
RESTRICTED = "pod-security.kubernetes.io/enforce"


def test_the_required_scenarios_are_shipped():
    assert {"well-kept", "typical", "neglected", "big", "denied"} <= set(shipped())


@pytest.mark.parametrize("name", [n for n in shipped() if n != "big"])
def test_every_day_of_every_scenario_builds(name):
    scenario = load_scenario(name)
    for day in range(min(scenario.first_day, -90), 1, 10):
        objects = scenario.objects(day, now=NOW)
        assert objects["nodes"] and objects["namespaces"]
        for pod in objects.get("pods", []):
            created = pod["metadata"]["creationTimestamp"]
            assert created <= (NOW + dt.timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_building_is_deterministic():
    scenario = load_scenario("typical")
    assert scenario.objects(0, now=NOW) == load_scenario("typical").objects(0, now=NOW)


def test_well_kept_meets_restricted_everywhere():
    objects = load_scenario("well-kept").objects(0, now=NOW)
    assert all(ns["metadata"]["labels"][RESTRICTED] == "restricted"
               for ns in objects["namespaces"])
    for pod in objects["pods"]:
        spec = pod["spec"]
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert not any(v.get("projected") for v in spec.get("volumes", []))
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["capabilities"]["drop"] == ["ALL"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert container["resources"]["limits"]["memory"]
            assert "@sha256:" in container["image"]
    namespaces = {p["metadata"]["namespace"] for p in objects["networkpolicies"]
                  if p["metadata"]["name"] == "default-deny"}
    assert namespaces == {"storefront", "payments", "platform"}
    version = load_scenario("well-kept").view(0).version
    assert version.startswith("v1.36.")


def test_neglected_is_neglected():
    scenario = load_scenario("neglected")
    objects = scenario.objects(0, now=NOW)
    assert version_info(scenario.view(0).version)["minor"] == "27+"
    images = {n["status"]["nodeInfo"]["osImage"] for n in objects["nodes"]}
    assert {"Amazon Linux 2", "Ubuntu 18.04.6 LTS", "CentOS Linux 7 (Core)"} <= images
    assert "networkpolicies" not in objects
    assert not any(RESTRICTED in ns["metadata"].get("labels", {}) for ns in objects["namespaces"])
    subjects = {(b["roleRef"]["name"], s["kind"], s["name"])
                for b in objects["clusterrolebindings"] for s in b.get("subjects", [])}
    assert ("cluster-admin", "User", "jsmith@acme.example") in subjects
    assert ("cluster-admin", "Group", "developers") in subjects
    assert ("view", "User", "system:anonymous") in subjects
    specs = [p["spec"] for p in objects["pods"]]
    assert any(s.get("hostNetwork") for s in specs) and any(s.get("hostPID") for s in specs)
    assert any(v.get("hostPath") for s in specs for v in s.get("volumes", []))
    assert any(c.get("securityContext", {}).get("privileged") for s in specs
               for c in s["containers"])
    assert any(c["image"] == "wordpress" for s in specs for c in s["containers"])
    types = {(s["spec"]["type"], bool(s["spec"].get("externalIPs"))) for s in objects["services"]}
    assert {("NodePort", True), ("LoadBalancer", True)} <= types


def test_pods_get_the_service_account_token_volume_unless_opted_out():
    objects = load_scenario("typical").objects(0, now=NOW)
    by_name = {p["metadata"]["name"]: p for p in objects["pods"]}
    redis = by_name["redis-0"]
    assert any(v["name"].startswith("kube-api-access-") for v in redis["spec"]["volumes"])
    mounts = redis["spec"]["containers"][0]["volumeMounts"]
    assert "/var/run/secrets/kubernetes.io/serviceaccount" in {m["mountPath"] for m in mounts}
    orders = next(p for n, p in by_name.items() if n.startswith("orders-api-"))
    # The orders-api service account sets automountServiceAccountToken: false.
    assert not any(v["name"].startswith("kube-api-access-")
                   for v in orders["spec"].get("volumes", []))


def test_names_follow_the_controllers_conventions():
    objects = load_scenario("neglected").objects(0, now=NOW)
    names = [p["metadata"]["name"] for p in objects["pods"]]
    alphabet = "[bcdfghjklmnpqrstvwxz2456789]"
    assert any(re.fullmatch(rf"billing-{alphabet}{{10}}-{alphabet}{{5}}", n) for n in names)
    assert sum(bool(re.fullmatch(rf"aws-node-{alphabet}{{5}}", n)) for n in names) == 6
    assert "mysql-0" in names
    assert any(re.fullmatch(rf"backup-\d{{8}}-{alphabet}{{5}}", n) for n in names)
    job = objects["jobs"][0]
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"


def test_node_labels_carry_the_provider():
    eks = load_scenario("well-kept").objects(0, now=NOW)["nodes"][0]["metadata"]["labels"]
    gke = load_scenario("typical").objects(0, now=NOW)["nodes"][0]["metadata"]["labels"]
    assert eks["eks.amazonaws.com/nodegroup"] in ("system-136", "apps-136")
    assert gke["cloud.google.com/gke-nodepool"] == "default-pool"
    assert gke["topology.kubernetes.io/zone"].startswith("europe-west1-")


def test_template_hashes_look_like_the_deployment_controllers():
    assert re.fullmatch("[4-9bcdf]{10}", template_hash({"spec": {"containers": []}}))
    assert template_hash({"a": 1}) != template_hash({"a": 2})


def test_image_references_are_resolved_like_a_runtime_reports_them():
    assert split_image("nginx") == ("docker.io/library/nginx", None, None)
    assert split_image("localhost:5000/x/y:1") == ("localhost:5000/x/y", "1", None)
    image, image_id = image_status("redis:7.2.4")
    assert image == "docker.io/library/redis:7.2.4"
    assert re.fullmatch(r"docker\.io/library/redis@sha256:[0-9a-f]{64}", image_id)


def test_timeline_history_of_typical():
    scenario = load_scenario("typical")
    assert scenario.first_day == -50
    assert scenario.view(-51).version == "v1.34.9-gke.1655001"
    assert scenario.view(-50).version == "v1.35.7-gke.1222000"
    data = {n["metadata"]["name"]: n for n in scenario.objects(-31, now=NOW)["namespaces"]}
    assert RESTRICTED not in data["data"]["metadata"].get("labels", {})
    data = {n["metadata"]["name"]: n for n in scenario.objects(-30, now=NOW)["namespaces"]}
    assert data["data"]["metadata"]["labels"][RESTRICTED] == "baseline"


def base(**extra):
    return {"name": "custom", "version": "v1.36.4", **extra}


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "custom", "version": "1.36"}, "not like v1.31.4"),
    (base(colour="blue"), "unknown keys"),
    (base(nodes=[{"pool": "a"}]), "missing osImage"),
    (base(workloads=[{"kind": "Pod", "namespace": "a", "name": "b", "template": {}}]),
     "kind must be one of"),
    (base(timeline=[{"day": 5}]), "day must be <= 0"),
    (base(timeline=[{"day": -1, "remove": {"nodes": ["ghost"]}}]), "does not exist"),
    (base(denied=["widgets"]), "unknown resource"),
    (base(provider="openstack"), "provider must be one of"),
])
def test_bad_scenarios_fail_with_a_clear_message(data, message):
    with pytest.raises(ScenarioError, match=message):
        parse(data)


def test_scenarios_load_from_a_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(base(name="mine", namespaces=[{"name": "apps"}])))
    scenario = load_scenario(path)
    names = {n["metadata"]["name"] for n in scenario.objects(0, now=NOW)["namespaces"]}
    assert names == {"apps", "default", "kube-system", "kube-public", "kube-node-lease",
                     "posture"}
    with pytest.raises(ScenarioError, match="no shipped scenario"):
        load_scenario("nonexistent")


def test_a_trivy_section_even_empty_installs_the_crd(tmp_path):
    assert parse(base(vulnerabilityreports=None)).objects(0)["vulnerabilityreports"] == []
    assert "vulnerabilityreports" not in parse(base()).objects(0)
