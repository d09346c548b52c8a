"""posture scan: formats, exit codes, malformed files, List kinds, SARIF validity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from posture.checks.cli import main

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"

APP_YAML = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: baseline
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

LIST_JSON: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": "shop"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "report", "namespace": "shop"},
            "spec": {
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [{"name": "r", "image": "ghcr.io/acme/report:1.0"}]
                            }
                        }
                    }
                }
            },
        },
    ],
}

RBAC_LIST_YAML = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBindingList
items:
  - metadata: {name: admins}
    roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}
    subjects:
      - {kind: User, name: alice@example.com}
  - metadata: {name: readers}
    roleRef: {kind: ClusterRole, name: view, apiGroup: rbac.authorization.k8s.io}
    subjects:
      - {kind: Group, name: readers}
"""

POD_YML = """\
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers:
    - name: sh
      image: busybox:1.36
"""


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    root = tmp_path / "manifests"
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "app.yaml").write_text(APP_YAML)
    (root / "list.json").write_text(json.dumps(LIST_JSON, indent=2))
    (root / "rbac.yaml").write_text(RBAC_LIST_YAML)
    (root / "nested" / "deeper" / "pod.yml").write_text(POD_YML)
    (root / "bad.yaml").write_text("kind: Pod\nmetadata: {name: x\nspec: [\n")
    (root / "bad.json").write_text('{"kind": "Pod",\n  "metadata": }\n')
    (root / "README.txt").write_text("not a manifest: {{{")
    return root


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def scan_json(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code, out, _ = run(["scan", str(root), "--format", "json", *extra], capsys)
    assert code in (0, 1, 3)
    doc: dict[str, Any] = json.loads(out)
    return doc


def _object(doc: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in doc["objects"] if o["kind"] == kind and o["name"] == name]
    return found


def test_json_output_has_exactly_the_documented_shape(
    manifests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = scan_json(manifests, capsys)
    assert set(doc) == {"objects", "errors", "exit_code"}
    assert doc["exit_code"] == 3  # bad.yaml and bad.json cannot be read
    for error in doc["errors"]:
        assert set(error) == {"source", "line", "column", "kind", "message"}
    for obj in doc["objects"]:
        assert set(obj) == {"source", "kind", "namespace", "name", "pss", "findings"}
        for finding in obj["findings"]:
            assert set(finding) == {"check", "severity", "container", "message"}
    web = _object(doc, "Deployment", "web")
    assert web["source"].endswith("app.yaml")
    assert web["pss"]["level"] == "restricted"
    assert web["pss"]["allowed"] is False
    assert {"control": "privileged"}.items() <= web["pss"]["violations"][0].items()
    checks = {f["check"] for f in web["findings"]}
    assert {
        "workload.privileged",
        "workload.violates-namespace-level",
        "image.latest-tag",
    } <= checks
    assert _object(doc, "Namespace", "shop")["pss"] is None


def test_directories_are_walked_recursively_and_lists_unwrapped(
    manifests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = scan_json(manifests, capsys)
    kinds = sorted((o["kind"], o["name"]) for o in doc["objects"])
    assert ("Pod", "debug") in kinds  # nested/deeper/pod.yml
    assert ("CronJob", "report") in kinds  # inside a JSON List
    assert ("ClusterRoleBinding", "admins") in kinds  # inside a ClusterRoleBindingList
    assert _object(doc, "Pod", "debug")["namespace"] == "default"
    admins = _object(doc, "ClusterRoleBinding", "admins")
    assert [f["check"] for f in admins["findings"]] == ["access.cluster-admin-binding"]
    assert _object(doc, "ClusterRoleBinding", "readers")["findings"] == []
    # The namespace has a default-deny policy from the JSON List, so it is isolated.
    namespace_checks = {f["check"] for f in _object(doc, "Namespace", "shop")["findings"]}
    assert "network.no-default-deny-ingress" not in namespace_checks


def test_malformed_files_become_errors_with_positions(
    manifests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = scan_json(manifests, capsys)
    errors = {Path(e["source"]).name: e for e in doc["errors"]}
    assert set(errors) == {"bad.yaml", "bad.json"}
    assert errors["bad.yaml"]["line"] == 3
    assert errors["bad.yaml"]["column"] >= 1
    assert "invalid YAML" in errors["bad.yaml"]["message"]
    assert (errors["bad.json"]["line"], errors["bad.json"]["column"]) == (2, 15)
    assert "invalid JSON" in errors["bad.json"]["message"]


def test_exit_codes_follow_fail_on(manifests: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A critical finding, default high (bad.yaml and bad.json are let through).
    assert run(["scan", str(manifests), "--allow-errors"], capsys)[0] == 1
    clean = manifests.parent / "clean"
    clean.mkdir()
    (clean / "pod.yml").write_text(POD_YML)
    # The bare pod only has medium and low findings.
    assert run(["scan", str(clean)], capsys)[0] == 0
    assert run(["scan", str(clean), "--fail-on", "medium"], capsys)[0] == 1
    assert run(["scan", str(clean), "--fail-on", "critical"], capsys)[0] == 0


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["scan"],
        ["scan", "x", "--format", "xml"],
        ["scan", "x", "--fail-on", "urgent"],
        ["scan", "x", "--pss-level", "privileged"],
        ["bogus"],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(args, capsys)[0] == 2


def test_missing_path_bad_policy_and_bad_version_exit_2(
    manifests: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["scan", str(tmp_path / "nope")], capsys)
    assert (code, "no such file" in err) == (2, True)
    policy = tmp_path / "policy.yaml"
    policy.write_text("pss_level: extreme\n")
    code, _, err = run(["scan", str(manifests), "--policy", str(policy)], capsys)
    assert code == 2 and "pss_level" in err
    code, _, err = run(["scan", str(manifests), "--pss-version", "1.30"], capsys)
    assert code == 2 and "--pss-version" in err


def test_pss_flags_and_policy_file_apply(
    manifests: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = scan_json(manifests, capsys, "--pss-level", "baseline", "--pss-version", "v1.25")
    pod = _object(doc, "Pod", "debug")
    assert pod["pss"] == {
        "level": "baseline",
        "version": "v1.25",
        "allowed": True,
        "violations": [],
    }
    assert not any(f["check"] == "workload.privilege-escalation" for f in pod["findings"])
    policy = tmp_path / "policy.yaml"
    policy.write_text("approved_registries: [ghcr.io/acme]\n")
    doc = scan_json(manifests, capsys, "--policy", str(policy))
    pod_checks = {f["check"] for f in _object(doc, "Pod", "debug")["findings"]}
    job_checks = {f["check"] for f in _object(doc, "CronJob", "report")["findings"]}
    assert "image.registry-not-approved" in pod_checks
    assert "image.registry-not-approved" not in job_checks


def test_text_output_groups_findings_per_object(
    manifests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["scan", str(manifests)], capsys)
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.endswith(": Deployment shop/web"))
    assert lines[header].startswith(str(manifests / "app.yaml") + ":8")
    assert lines[header + 1].lstrip().startswith("CRITICAL workload.privileged")
    assert any("bad.yaml:3:" in line and "error" in line for line in lines)
    assert "2 errors" in lines[-1] and "findings" in lines[-1]


def test_text_output_escapes_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "evil.yaml").write_text(
        'kind: Pod\nmetadata: {name: "x\\e[31mred\\nfake"}\n'
        "spec: {containers: [{name: c, image: nginx}]}\n"
    )
    _, out, _ = run(["scan", str(tmp_path)], capsys)
    assert "\x1b" not in out
    assert "\\u001b[31mred\\u000afake" in out


@pytest.mark.threat("Bidi controls or invisible characters in cluster text disguise names "
                    "(U+202E shows a subject reversed)",
                    "One definition of hidden characters (`posture/checks/hidden.py`: controls, "
                    "format characters, separators, default-ignorables, tags), shown as escapes "
                    "such as `\\u202e` on pages, charts, CSV, mail and `posture scan` output; each "
                    "value isolated in `bdi` and by CSS; the JSON API keeps the exact data, since "
                    "it is data, not display")
def test_text_output_shows_bidi_and_zero_width_characters_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "evil.yaml").write_text(
        'kind: Pod\nmetadata: {name: "\\u202Egnp.exe\\u200B"}\n'
        "spec: {containers: [{name: c, image: nginx}]}\n"
    )
    _, out, _ = run(["scan", str(tmp_path)], capsys)
    assert "\u202e" not in out and "\u200b" not in out
    assert "Pod default/\\u202egnp.exe\\u200b" in out


def test_sarif_is_valid_and_points_at_lines(
    manifests: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(manifests.parent)
    code, out, _ = run(["scan", "manifests", "--format", "sarif"], capsys)
    assert code == 3  # bad.yaml and bad.json
    log = json.loads(out)
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
    privileged = [r for r in run_["results"] if r["ruleId"] == "workload.privileged"]
    (location,) = privileged[0]["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "manifests/app.yaml"
    assert location["physicalLocation"]["region"]["startLine"] == 8
    assert privileged[0]["level"] == "error"
    assert rules[privileged[0]["ruleIndex"]]["id"] == "workload.privileged"
    admins = [r for r in run_["results"] if r["ruleId"] == "access.cluster-admin-binding"]
    assert admins[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    notes = run_["invocations"][0]["toolExecutionNotifications"]
    assert len(notes) == 2


def test_sarif_schema_rejects_a_broken_log() -> None:
    # The vendored schema must actually constrain: a result without a message is invalid.
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA.read_text()))


def test_json_list_items_keep_their_lines(
    manifests: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(manifests.parent)
    _, out, _ = run(["scan", "manifests/list.json", "--format", "sarif"], capsys)
    results = json.loads(out)["runs"][0]["results"]
    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results}
    text = (manifests / "list.json").read_text().splitlines()
    cronjob_line = next(i for i, line in enumerate(text, 1) if '"batch/v1"' in line) - 1
    assert cronjob_line in lines


def test_yaml_alias_bomb_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    (tmp_path / "bomb.yaml").write_text("\n".join(levels) + "\n")
    doc = scan_json(tmp_path, capsys)
    assert doc["objects"] == []
    assert "expands to more than" in doc["errors"][0]["message"]
    (tmp_path / "bomb.yaml").write_text("kind: Pod\na: &a [1, *a]\n")
    doc = scan_json(tmp_path, capsys)
    assert "refers to a node that contains it" in doc["errors"][0]["message"]


def test_python_m_posture_checks_runs_the_cli(manifests: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "posture.checks",
            "scan",
            str(manifests / "nested"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["objects"][0]["name"] == "debug"


BROKEN_YAML = "kind: Pod\nmetadata: {name: x\n"


def _broken_folder(root: Path, count: int = 4) -> Path:
    root.mkdir()
    for i in range(count):
        (root / f"broken-{i}.yaml").write_text(BROKEN_YAML)
    return root


def test_a_folder_of_only_broken_files_fails_with_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _broken_folder(tmp_path / "broken")
    code, out, err = run(["scan", str(broken)], capsys)
    assert code == 3
    assert out.count(": error: invalid YAML") == 4
    assert "4 files could not be read" in err
    assert "nothing was scanned" in err


def test_sarif_reports_unreadable_files_as_failed_execution(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _broken_folder(tmp_path / "broken")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["scan", "broken", "--format", "sarif"], capsys)
    assert code == 3
    log = json.loads(out)
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["exitCode"] == 3
    notes = invocation["toolExecutionNotifications"]
    files = [n for n in notes if n["descriptor"]["id"] == "input.unreadable"]
    assert len(files) == 4
    for note in files:
        assert note["level"] == "error"
        (location,) = note["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"].startswith("broken/broken-")
        assert physical["region"]["startLine"] == 3
        assert "invalid YAML" in note["message"]["text"]
    (nothing,) = [n for n in notes if n["descriptor"]["id"] == "input.no-manifests"]
    assert nothing["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken"
    descriptors = {d["id"] for d in log["runs"][0]["tool"]["driver"]["notifications"]}
    assert {"input.unreadable", "input.no-manifests"} <= descriptors


def test_broken_files_beside_good_ones_still_report_findings_and_exit_3(
    manifests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # bad.yaml and bad.json sit beside manifests with critical findings: the unreadable input
    # decides the exit status, and every finding of the readable files is still reported.
    code, out, err = run(["scan", str(manifests), "--format", "json"], capsys)
    assert code == 3
    doc = json.loads(out)
    assert "workload.privileged" in {f["check"] for f in _object(doc, "Deployment", "web")["findings"]}
    assert {e["kind"] for e in doc["errors"]} == {"unreadable"}
    assert doc["exit_code"] == 3
    assert "2 files could not be read" in err
    # --allow-errors lets the findings decide.
    assert run(["scan", str(manifests), "--allow-errors"], capsys)[0] == 1
    assert run(["scan", str(manifests), "--allow-errors", "--fail-on", "critical"], capsys)[0] == 1
    clean = manifests.parent / "clean"
    clean.mkdir()
    (clean / "pod.yml").write_text(POD_YML)
    (clean / "broken.yaml").write_text(BROKEN_YAML)
    assert run(["scan", str(clean)], capsys)[0] == 3
    assert run(["scan", str(clean), "--allow-errors"], capsys)[0] == 0


def test_sarif_with_allow_errors_keeps_the_notifications_as_warnings(
    manifests: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(manifests.parent)
    code, out, _ = run(["scan", "manifests", "--format", "sarif", "--allow-errors"], capsys)
    assert code == 1
    log = json.loads(out)
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    assert invocation["exitCode"] == 1
    notes = invocation["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["warning", "warning"]
    assert log["runs"][0]["results"], "the readable files' findings are reported"


@pytest.mark.parametrize("allow", [[], ["--allow-errors"]])
def test_no_manifests_found_is_not_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], allow: list[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run(["scan", str(empty), *allow], capsys)
    assert code == 3
    assert "no .yaml, .yml or .json file" in out
    assert "nothing was scanned" in err
    values = tmp_path / "values"
    values.mkdir()
    (values / "values.yaml").write_text("replicas: 3\nimage: {tag: 1.2.3}\n")
    code, out, _ = run(["scan", str(values), "--format", "json", *allow], capsys)
    assert code == 3
    (error,) = json.loads(out)["errors"]
    assert error["kind"] == "no-manifests"
    assert error["source"] == str(values)
    assert "none holds a Kubernetes object" in error["message"]


def test_exit_codes_are_documented_in_help_readme_and_docs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from posture.checks.scan import ExitCode

    assert main(["scan", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    docs = (root / "docs" / "scan.md").read_text()
    assert "--allow-errors" in help_text and "--allow-errors" in readme and "--allow-errors" in docs
    for code in ExitCode:
        row = f"| {code.value} | {code.summary} |"
        assert f"{code.value} {code.summary}" in help_text, code
        assert row in docs, code
        assert row in readme, code


def test_a_directory_that_cannot_be_listed_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nested folders whose joined path passes PATH_MAX: listing the deepest fails
    # (ENAMETOOLONG) whoever runs the test, root included. It must not be skipped in silence.
    (tmp_path / "pod.yml").write_text(POD_YML)
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for i in range(18):
            name = f"d{i:02d}" + "x" * 250
            os.mkdir(name, dir_fd=fd)
            deeper = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = deeper
    finally:
        os.close(fd)
    code, out, err = run(["scan", str(tmp_path), "--format", "json"], capsys)
    assert code == 3
    (error,) = json.loads(out)["errors"]
    assert error["kind"] == "unreadable"
    assert error["message"].startswith("cannot list directory")
    assert "the scan is incomplete" in err
