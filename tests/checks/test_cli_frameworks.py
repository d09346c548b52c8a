"""posture scan --framework: findings filtered and grouped by control; exit codes; SARIF tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from posture.checks.cli import main
from posture.checks.frameworks import framework

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"

# A privileged, host-network Deployment from an untagged image, behind a NodePort Service.
APP_YAML = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: privileged
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      hostNetwork: true
      containers:
        - name: web
          image: nginx
          securityContext:
            privileged: true
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
"""

# A hardened Deployment whose only high finding is a Service with externalIPs, a check that
# neither framework has a control for.
EXTERNAL_IPS_YAML = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: web
          image: registry.example.com/shop/web:1.2.3@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
          imagePullPolicy: IfNotPresent
          resources:
            limits: {cpu: 500m, memory: 256Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  externalIPs: [203.0.113.7]
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(APP_YAML)
    return path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_text_groups_findings_under_each_control_of_the_framework(
    app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["scan", str(app), "--framework", "cis"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "CIS Kubernetes Benchmark v1.12.0"
    i = lines.index("  FAILED        5.2.2 Minimize the admission of privileged containers")
    assert lines[i + 1].startswith(
        f"      {app}:8: Deployment shop/web: CRITICAL workload.privileged"
    )
    # hostNetwork fails 5.2.5 only, not the PID and IPC controls.
    assert (
        "  FAILED        5.2.5 Minimize the admission of containers wishing to share the host "
        "network namespace" in lines
    )
    assert (
        "  passed        5.2.3 Minimize the admission of containers wishing to share the "
        "host process ID namespace" in lines
    )
    assert "  not checkable 1.2 (the whole section)" in lines
    assert "  not checkable 5.1.7 Avoid use of system:masters group" in lines
    assert lines[-1].startswith("CIS Kubernetes Benchmark v1.12.0: ")
    assert "not checkable through the API" in lines[-1]


def test_findings_of_checks_without_a_control_are_left_out(
    app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plain, _ = run(["scan", str(app)], capsys)
    assert "image.latest-tag" in plain and "network.service-exposed" in plain
    _, out, _ = run(["scan", str(app), "--framework", "cis"], capsys)
    assert "image.latest-tag" not in out and "network.service-exposed" not in out
    # The NSA guide maps image checks: the tag finding is there, under secure images.
    _, nsa, _ = run(["scan", str(app), "--framework", "nsa", "--format", "json"], capsys)
    controls = {c["id"]: c for c in json.loads(nsa)["framework"]["controls"]}
    images = controls["pod-security.secure-images"]
    assert [f["check"] for f in images["findings"]] == [
        "image.latest-tag",
        "image.not-pinned-by-digest",
    ]
    assert "network.service-exposed" not in nsa


def test_controls_whose_checks_need_a_cluster_are_not_evaluated_with_the_reason(
    app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(["scan", str(app), "--framework", "nsa", "--format", "json"], capsys)
    doc = json.loads(out)
    (upgrading,) = [c for c in doc["framework"]["controls"] if c["id"] == "upgrading.patching"]
    assert upgrading["status"] == "not_evaluated"
    assert "version.kubernetes-eol" in upgrading["not_evaluated_checks"]
    assert upgrading["partial"]


def test_only_findings_under_the_framework_decide_fail_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text(EXTERNAL_IPS_YAML)
    code, out, _ = run(["scan", str(path)], capsys)
    assert code == 1 and "network.service-external-ips" in out
    for fw in ("cis", "nsa"):
        code, out, _ = run(["scan", str(path), "--framework", fw], capsys)
        assert code == 0, out
        assert "network.service-external-ips" not in out
    code, _, _ = run(["scan", str(path), "--framework", "cis", "--fail-on", "low"], capsys)
    assert code == 0


def test_unreadable_input_still_exits_3_and_an_unknown_framework_is_a_usage_error(
    app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (app.parent / "broken.yaml").write_text("kind: Pod\nmetadata: {name: x\n")
    code, out, err = run(["scan", str(app.parent), "--framework", "cis"], capsys)
    assert code == 3
    assert "broken.yaml:" in out.splitlines()[0] and "error:" in out.splitlines()[0]
    assert "the scan is incomplete" in err
    code, _, _ = run(["scan", str(app.parent), "--framework", "cis", "--allow-errors"], capsys)
    assert code == 1
    code, _, err = run(["scan", str(app), "--framework", "pci"], capsys)
    assert code == 2 and "invalid choice: 'pci'" in err


def test_json_keeps_its_shape_and_adds_the_framework_by_control(
    app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["scan", str(app), "--framework", "cis", "--format", "json"], capsys)
    doc: dict[str, Any] = json.loads(out)
    assert set(doc) == {"objects", "errors", "exit_code", "framework"}
    assert doc["exit_code"] == code == 1
    fw = doc["framework"]
    assert (fw["id"], fw["version"]) == ("cis", "v1.12.0")
    assert [c["id"] for c in fw["controls"]] == [c.id for c in framework("cis").controls]
    assert sum(fw["counts"].values()) == len(fw["controls"])
    (privileged,) = [c for c in fw["controls"] if c["id"] == "5.2.2"]
    assert privileged["status"] == "failed"
    (finding,) = privileged["findings"]
    assert finding["source"] == str(app) and finding["line"] == 8
    assert finding["check"] == "workload.privileged" and finding["severity"] == "critical"
    checks = {f["check"] for o in doc["objects"] for f in o["findings"]}
    assert "workload.privileged" in checks and "image.latest-tag" not in checks
    (cis_7,) = [c for c in fw["controls"] if c["id"] == "5.1.7"]
    assert cis_7["status"] == "not_checkable" and "client certificates" in cis_7["reason"]


def test_sarif_rules_and_results_carry_the_control_ids(
    app: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app.parent)
    code, out, _ = run(["scan", "app.yaml", "--framework", "cis", "--format", "sarif"], capsys)
    assert code == 1
    log = json.loads(out)
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    run_ = log["runs"][0]
    rules = {r["id"]: r for r in run_["tool"]["driver"]["rules"]}
    privileged = rules["workload.privileged"]["properties"]
    assert privileged["cis"] == ["5.2.2"]
    assert "cis/5.2.2" in privileged["tags"] and "security" in privileged["tags"]
    host = rules["workload.host-namespaces"]["properties"]
    assert host["cis"] == ["5.2.3", "5.2.4", "5.2.5"]
    assert rules["image.latest-tag"]["properties"]["cis"] == []
    results = {r["ruleId"]: r for r in run_["results"]}
    assert results["workload.host-namespaces"]["properties"]["cis"] == ["5.2.5"]
    assert "image.latest-tag" not in results
    _, plain, _ = run(["scan", "app.yaml", "--format", "sarif"], capsys)
    plain_rules = json.loads(plain)["runs"][0]["tool"]["driver"]["rules"]
    assert all("cis" not in r["properties"] for r in plain_rules)


def test_text_shows_hidden_characters_in_names_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "evil.yaml").write_text(
        'kind: Pod\nmetadata: {name: "\\u202Egnp.exe\\u200B"}\n'
        "spec: {containers: [{name: c, image: nginx, securityContext: {privileged: true}}]}\n"
    )
    _, out, _ = run(["scan", str(tmp_path), "--framework", "nsa"], capsys)
    assert "\u202e" not in out and "\u200b" not in out
    assert "Pod default/\\u202egnp.exe\\u200b" in out
