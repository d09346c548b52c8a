"""Compliance frameworks: the shipped mapping covers the catalog; controls' statuses."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from posture.checks import evaluate
from posture.checks.catalog import CATALOG, CHECKS
from posture.checks.frameworks import (
    FRAMEWORK_IDS,
    ControlStatus,
    FrameworkDataError,
    assess,
    assess_evaluation,
    catalog_problems,
    framework,
    frameworks,
)
from posture.checks.frameworks.data import load, parse
from posture.checks.policy import Policy
from posture.checks.results import Finding
from posture.checks.vocabulary import Category, Severity
from posture.domain.scoring import score
from tests.checks.builders import (
    TODAY,
    clean_inventory,
    inventory,
    pod_spec,
    with_security,
    workload,
)

POLICY = Policy(approved_registries=("registry.example.com",))
DATA = Path(__file__).resolve().parents[2] / "posture" / "checks" / "frameworks"


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_every_check_of_the_catalog_is_mapped_to_a_control_or_to_none_with_a_reason(
    framework_id: str,
) -> None:
    fw = framework(framework_id)
    assert catalog_problems(fw, CATALOG) == []
    for check in CHECKS:
        assert fw.controls_of(check.id) or fw.no_control[check.id].strip(), check.id


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_every_control_id_the_mapping_names_exists_and_every_control_says_how_it_is_judged(
    framework_id: str,
) -> None:
    fw = framework(framework_id)
    ids = {c.id for c in fw.controls}
    assert len(ids) == len(fw.controls)
    for entries in fw.evaluates.values():
        for e in entries:
            assert e.control in ids
    for c in fw.controls:
        # A control is evaluated by checks, or says why not: never silently nothing.
        assert bool(c.evaluated_by) != bool(c.not_checkable or c.not_evaluated), c.id
        assert not (c.not_checkable and c.not_evaluated), c.id


def test_a_mapping_to_a_control_the_file_does_not_declare_is_refused() -> None:
    document = yaml.safe_load((DATA / "cis.yaml").read_text())
    document["mapping"]["workload.privileged"] = ["5.2.99"]
    with pytest.raises(FrameworkDataError, match="no control '5.2.99'"):
        parse("cis.yaml", document)


def test_a_control_without_checks_or_a_reason_is_refused() -> None:
    document = yaml.safe_load((DATA / "cis.yaml").read_text())
    document["mapping"]["workload.privileged"] = {"none": "for the test"}
    with pytest.raises(FrameworkDataError, match="control 5.2.2: give checks"):
        parse("cis.yaml", document)


def test_a_control_that_says_it_cannot_be_checked_cannot_have_checks() -> None:
    document = yaml.safe_load((DATA / "cis.yaml").read_text())
    document["mapping"]["workload.privileged"] = ["5.1.7"]
    with pytest.raises(FrameworkDataError, match="says no check evaluates it"):
        parse("cis.yaml", document)


def test_a_check_the_catalog_lacks_or_misses_is_named_with_where_to_map_it() -> None:
    fw = framework("cis")
    problems = catalog_problems(fw, [*CATALOG, "workload.new-check"])
    assert problems == [
        "cis: check workload.new-check is not mapped; add it under `mapping:` in "
        "posture/checks/frameworks/cis.yaml with the controls it evaluates, or `none:` and "
        "the reason it evaluates none"
    ]
    fewer = [c for c in CATALOG if c != "workload.privileged"]
    assert catalog_problems(fw, fewer) == [
        "cis: mapping names workload.privileged, which the catalog does not have"
    ]


def test_cis_is_version_1_12_with_its_policy_sections_and_the_node_sections_summarised() -> None:
    fw = framework("cis")
    assert fw.label == "CIS Kubernetes Benchmark v1.12.0"
    assert [s.id for s in fw.sections] == [
        "1.1", "1.2", "1.3", "1.4", "2", "3.1", "3.2", "4.1", "4.2", "4.3",
        "5.1", "5.2", "5.3", "5.4", "5.5", "5.6",
    ]  # fmt: skip
    for section in fw.sections[:10]:
        (summary,) = section.controls
        assert summary.summary and summary.id == section.id and summary.not_checkable
    assert [c.id for c in fw.sections[10].controls] == [f"5.1.{n}" for n in range(1, 14)]
    assert [c.id for c in fw.sections[11].controls] == [f"5.2.{n}" for n in range(1, 13)]
    assert fw.control("5.2.2").title == "Minimize the admission of privileged containers"
    assert fw.control("5.1.7").not_checkable
    assert fw.control("5.1.2").not_evaluated
    assert all(s.url.startswith("https://") for s in fw.sources)


def test_nsa_has_the_guides_five_sections() -> None:
    fw = framework("nsa")
    assert fw.version == "1.2 (August 2022)"
    assert [s.title for s in fw.sections] == [
        "Kubernetes Pod security",
        "Network separation and hardening",
        "Authentication and authorization",
        "Audit logging and threat detection",
        "Upgrading and application security practices",
    ]
    assert "media.defense.gov" in fw.sources[0].url


def test_a_clean_cluster_passes_every_control_its_checks_evaluate() -> None:
    result = evaluate(clean_inventory(), POLICY, TODAY)
    assert result.findings == []
    for fw in frameworks().values():
        assessment = assess_evaluation(fw, result)
        for r in assessment.results:
            if r.control.evaluated_by:
                assert r.status is ControlStatus.PASSED, r.control.id
            elif r.control.not_checkable:
                assert r.status is ControlStatus.NOT_CHECKABLE
                assert r.reason == r.control.not_checkable
            else:
                assert r.status is ControlStatus.NOT_EVALUATED
                assert r.reason == r.control.not_evaluated


def test_a_privileged_workload_fails_the_controls_its_check_is_mapped_to_and_only_those() -> None:
    bad = with_security(pod_spec(), privileged=True)
    inv = clean_inventory(workloads=[workload(), workload("db", spec=bad)])
    result = evaluate(inv, POLICY, TODAY)
    # The namespace enforces restricted, so the workload also runs in violation of it.
    checks = {f.check for f in result.findings}
    assert checks == {"workload.privileged", "workload.violates-namespace-level"}
    cis = assess_evaluation(framework("cis"), result)
    failed = [r.control.id for r in cis.results if r.status is ControlStatus.FAILED]
    assert failed == ["5.2.1", "5.2.2"]
    (finding,) = cis.result("5.2.2").findings
    assert (finding.kind, finding.namespace, finding.name) == ("Deployment", "shop", "db")
    nsa = assess_evaluation(framework("nsa"), result)
    assert [r.control.id for r in nsa.results if r.status is ControlStatus.FAILED] == [
        "pod-security.enforcement"
    ]


def test_host_namespaces_fail_only_the_benchmark_control_of_the_namespace_shared() -> None:
    inv = clean_inventory(
        workloads=[
            workload("net", spec=pod_spec(hostNetwork=True)),
            workload("pid", spec=pod_spec(hostPID=True, hostIPC=True)),
        ]
    )
    result = evaluate(inv, POLICY, TODAY)
    cis = assess_evaluation(framework("cis"), result)
    names = {cid: [f.name for f in cis.result(cid).findings] for cid in ("5.2.3", "5.2.4", "5.2.5")}
    assert names == {"5.2.3": ["pid"], "5.2.4": ["pid"], "5.2.5": ["net"]}
    # NSA's enforcement control takes the check whole: each finding once.
    nsa = assess_evaluation(framework("nsa"), result)
    found = [
        f.name
        for f in nsa.result("pod-security.enforcement").findings
        if f.check == "workload.host-namespaces"
    ]
    assert sorted(found) == ["net", "pid"]


def test_a_check_that_could_not_run_leaves_its_controls_not_evaluated_never_passed() -> None:
    inv = clean_inventory()
    inv["coverage"]["clusterrolebindings"] = {
        "state": "forbidden",
        "message": "clusterrolebindings is forbidden",
        "count": 0,
    }
    result = evaluate(inv, POLICY, TODAY)
    cis = assess_evaluation(framework("cis"), result)
    r = cis.result("5.1.1")
    assert r.status is ControlStatus.NOT_EVALUATED
    assert "access.cluster-admin-binding" in r.unevaluated
    assert "clusterrolebindings could not be read (forbidden)" in r.reason
    # The wildcard control reads roles only: it still passes.
    assert cis.result("5.1.3").status is ControlStatus.PASSED


def test_a_check_switched_off_by_the_policy_leaves_its_controls_not_evaluated() -> None:
    policy = replace(POLICY, disabled_checks=frozenset({"workload.privileged"}))
    result = evaluate(clean_inventory(), policy, TODAY)
    r = assess_evaluation(framework("cis"), result).result("5.2.2")
    assert r.status is ControlStatus.NOT_EVALUATED
    assert r.reason == "workload.privileged: switched off by the policy"


def test_a_finding_fails_a_control_even_when_another_of_its_checks_did_not_run() -> None:
    cis = framework("cis")
    finding = _finding("workload.runs-as-root")
    ran = [c for c in CATALOG if c != "workload.seccomp-profile"]
    a = assess(cis, [finding], ran=ran, not_evaluated={"workload.seccomp-profile": "pods: no"})
    r = a.result("5.6.3")
    assert r.status is ControlStatus.FAILED
    assert r.findings == (finding,)
    assert r.unevaluated == {"workload.seccomp-profile": "pods: no"}
    assert a.result("5.6.2").status is ControlStatus.NOT_EVALUATED


def test_open_findings_of_a_check_that_did_not_run_are_left_out_as_the_score_leaves_them() -> None:
    stale = _finding("workload.privileged")
    ran = [c for c in CATALOG if c != "workload.privileged"]
    r = assess(framework("cis"), [stale], ran=ran).result("5.2.2")
    assert r.status is ControlStatus.NOT_EVALUATED
    assert r.findings == ()
    assert r.reason == "workload.privileged: did not run"


def test_findings_set_apart_are_shown_with_their_control_but_do_not_fail_it() -> None:
    managed = replace(_finding("workload.privileged"), namespace="kube-system", name="proxy")
    mine = _finding("workload.privileged")

    def set_apart(f: Finding) -> str | None:
        return "platform-managed" if f.namespace == "kube-system" else None

    a = assess(framework("cis"), [managed], ran=CATALOG, set_apart=set_apart)
    r = a.result("5.2.2")
    assert r.status is ControlStatus.PASSED
    assert r.set_apart == ((managed, "platform-managed"),)
    b = assess(framework("cis"), [managed, mine], ran=CATALOG, set_apart=set_apart)
    assert b.result("5.2.2").status is ControlStatus.FAILED
    assert b.result("5.2.2").findings == (mine,)


def test_stored_rows_are_read_through_the_key_functions() -> None:
    class Row:
        check_id = "workload.privileged"
        message = "container app must not set securityContext.privileged=true"

    row = Row()
    a = assess(framework("cis"), [row], ran=CATALOG, check_of=lambda r: r.check_id)
    assert a.result("5.2.2").findings == (row,)


def test_counts_add_up_to_every_control_and_the_json_names_each_status() -> None:
    bad = with_security(pod_spec(), privileged=True)
    result = evaluate(clean_inventory(workloads=[workload(spec=bad)]), POLICY, TODAY)
    a = assess_evaluation(framework("cis"), result)
    counts = a.counts()
    assert list(counts) == ["failed", "not_evaluated", "passed", "not_checkable"]
    assert sum(counts.values()) == len(framework("cis").controls)
    doc = a.to_dict(Finding.to_dict)
    assert doc["counts"] == counts
    (control,) = [c for c in doc["controls"] if c["id"] == "5.2.2"]
    assert control["status"] == "failed"
    assert control["findings"][0]["check"] == "workload.privileged"
    assert {c["status"] for c in doc["controls"]} <= set(counts)


def test_the_score_does_not_read_the_mapping() -> None:
    """The same findings score the same whatever a framework's data says."""
    bad = with_security(pod_spec(), privileged=True)
    result = evaluate(clean_inventory(workloads=[workload(spec=bad)]), POLICY, TODAY)
    from posture.domain.scoring import Size

    before = score(result.findings, Size(workloads=1, nodes=1, namespaces=1))
    document: dict[str, Any] = copy.deepcopy(yaml.safe_load((DATA / "cis.yaml").read_text()))
    document["mapping"]["workload.privileged"] = ["5.2.2", "5.2.3", "5.1.1"]
    assess(parse("cis.yaml", document), result.findings, ran=result.evaluated)
    after = score(result.findings, Size(workloads=1, nodes=1, namespaces=1))
    assert before == after


def test_the_shipped_files_load_from_the_installed_package() -> None:
    assert load("nsa").id == "nsa"
    assert load("cis").id == "cis"


def test_an_empty_inventory_reads_nothing_and_passes_no_control() -> None:
    inv = inventory(forbidden=("pods", "namespaces", "nodes"), workloads=[])
    result = evaluate(inv, POLICY, TODAY)
    a = assess_evaluation(framework("cis"), result)
    for cid in ("5.2.2", "5.2.7", "5.6.2", "5.2.1"):
        assert a.result(cid).status is ControlStatus.NOT_EVALUATED


def _finding(check: str) -> Finding:
    return Finding(
        check, Severity.HIGH, Category.WORKLOADS, "Deployment", "shop", "web", "app", "m", {}
    )
