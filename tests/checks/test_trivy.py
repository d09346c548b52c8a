"""Trivy Operator reports read per image: de-duplication, ranking, counts, hostile input."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from posture.checks import Policy, evaluate
from posture.checks.trivy import (
    CLUSTER_ENTRIES,
    REPORT_ENTRIES,
    WorkloadRef,
    safe_link,
    scan,
    slim_report,
)
from posture.checks.vocabulary import VulnerabilitySeverity as V
from tests.checks.builders import clean_inventory

TODAY = date(2026, 11, 28)


def vuln(cve: str, package: str = "openssl", installed: str = "1.1.1n", fixed: str = "",
         severity: str = "CRITICAL", **extra: Any) -> dict[str, Any]:
    return {"vulnerabilityID": cve, "resource": package, "installedVersion": installed,
            "fixedVersion": fixed, "severity": severity, "title": f"{cve} in {package}",
            "primaryLink": f"https://avd.aquasec.com/nvd/{cve.lower()}", **extra}


def report(name: str, kind: str = "ReplicaSet", owner: str = "web-5d8f9c", container: str = "app",
           *vulns: dict[str, Any], repository: str = "shop/web", tag: str = "1.2.3",
           digest: str = "", namespace: str = "shop", updated: str = "2026-11-27T10:00:00Z",
           summary: dict[str, int] | None = None) -> dict[str, Any]:
    artifact = {"repository": repository, "tag": tag}
    if digest:
        artifact["digest"] = digest
    return {
        "apiVersion": "aquasecurity.github.io/v1alpha1",
        "kind": "VulnerabilityReport",
        "metadata": {"name": name, "namespace": namespace, "labels": {
            "trivy-operator.resource.kind": kind, "trivy-operator.resource.name": owner,
            "trivy-operator.resource.namespace": namespace,
            "trivy-operator.container.name": container}},
        "report": {"updateTimestamp": updated, "registry": {"server": "ghcr.io"},
                   "artifact": artifact, "os": {"family": "debian", "name": "12.8"},
                   "summary": summary or {}, "vulnerabilities": list(vulns)},
    }


WORKLOADS = [("Deployment", "shop", "web"), ("Deployment", "shop", "worker")]


def test_the_same_image_in_two_workloads_is_one_image_with_both_workloads() -> None:
    shared = [vuln("CVE-2024-1", fixed="1.1.1w"), vuln("CVE-2024-2", severity="HIGH")]
    result = scan([report("replicaset-web-5d8f9c-app", "ReplicaSet", "web-5d8f9c", "app", *shared),
                   report("replicaset-worker-77b-app", "ReplicaSet", "worker-77b", "app",
                          *shared)], WORKLOADS)
    (image,) = result.images
    assert image.ref == "ghcr.io/shop/web:1.2.3"
    assert image.workloads == [WorkloadRef("Deployment", "shop", "web", "app"),
                               WorkloadRef("Deployment", "shop", "worker", "app")]
    assert [v.id for v in image.vulnerabilities] == ["CVE-2024-1", "CVE-2024-2"]
    assert image.count(V.CRITICAL).total == 1 and image.count(V.CRITICAL).fixable == 1
    assert result.by_workload[WorkloadRef("Deployment", "shop", "worker", "app")] is image


def test_image_identity_is_the_digest_when_known_else_the_tag() -> None:
    pinned = scan([report("a", "Pod", "a", "c", digest="sha256:" + "a" * 64, tag="1.0")])
    assert pinned.images[0].ref == "ghcr.io/shop/web@sha256:" + "a" * 64
    # Two tags of one digest are one image; one tag at two digests is two.
    moved = scan([report("a", "Pod", "a", "c", tag="1.0", digest="sha256:" + "b" * 64),
                  report("b", "Pod", "b", "c", tag="latest", digest="sha256:" + "b" * 64),
                  report("c", "Pod", "c", "c", tag="1.0", digest="sha256:" + "c" * 64)])
    assert len(moved.images) == 2


def test_ranking_puts_fixable_criticals_first_then_unfixable_criticals_then_fixable_highs() -> None:
    result = scan([report("r", "Pod", "p", "c",
                          vuln("CVE-low", severity="LOW", fixed="2"),
                          vuln("CVE-high-fix", package="curl", severity="HIGH", fixed="8.5"),
                          vuln("CVE-crit-nofix", package="zlib1g", score=9.8),
                          vuln("CVE-high-nofix", package="perl", severity="HIGH"),
                          vuln("CVE-crit-fix-low-score", package="expat", fixed="2.6", score=8.1),
                          vuln("CVE-crit-fix", package="glibc", fixed="2.36-9", score=9.8),
                          vuln("CVE-odd", package="x", severity="bogus"))])
    assert [v.id for v in result.images[0].vulnerabilities] == [
        "CVE-crit-fix", "CVE-crit-fix-low-score", "CVE-crit-nofix", "CVE-high-fix",
        "CVE-high-nofix", "CVE-low", "CVE-odd"]
    assert result.images[0].vulnerabilities[-1].severity is V.UNKNOWN


def test_images_rank_by_fixable_criticals_then_criticals() -> None:
    result = scan([
        report("a", "Pod", "a", "c", vuln("CVE-1"), vuln("CVE-2"), repository="unfixable"),
        report("b", "Pod", "b", "c", vuln("CVE-1", fixed="2"), repository="fixable"),
        report("c", "Pod", "c", "c", vuln("CVE-9", severity="HIGH", fixed="2"),
               repository="highs"),
    ])
    assert [i.repository for i in result.images] == ["fixable", "unfixable", "highs"]


def test_duplicate_entries_count_once_and_the_newest_report_wins() -> None:
    old = report("old", "Pod", "a", "c", vuln("CVE-1"), vuln("CVE-1"),
                 updated="2026-11-01T00:00:00Z")
    new = report("new", "Pod", "b", "c", vuln("CVE-1", fixed="1.1.1w"),
                 updated="2026-11-20T00:00:00Z")
    for order in ([old, new], [new, old]):
        (image,) = scan(order).images
        assert [(v.id, v.fixed) for v in image.vulnerabilities] == [("CVE-1", "1.1.1w")]
    # One CVE in two packages (or two installed versions) is two entries.
    (image,) = scan([report("r", "Pod", "p", "c", vuln("CVE-1", package="a"),
                            vuln("CVE-1", package="b"), vuln("CVE-1", package="b",
                                                             installed="2"))]).images
    assert image.count(V.CRITICAL).total == 3


def test_a_report_with_counts_but_no_list_gives_its_summary_without_fix_status() -> None:
    (image,) = scan([report("r", "Pod", "p", "c", summary={"criticalCount": 4,
                                                           "highCount": "many"})]).images
    assert image.summary_only and image.count(V.CRITICAL).total == 4
    assert image.count(V.CRITICAL).fixable is None and image.count(V.HIGH).total == 0


def test_long_names_come_from_the_annotation_trivy_uses_for_them() -> None:
    long_name = "a-really-long-deployment-name-that-does-not-fit-in-a-label-value-5d8f9c"
    obj = report("r", "ReplicaSet", "x", "app")
    del obj["metadata"]["labels"]["trivy-operator.resource.name"]
    obj["metadata"]["labels"]["trivy-operator.resource.name-hash"] = "6f69bb5b79"
    obj["metadata"]["annotations"] = {"trivy-operator.resource.name": long_name}
    result = scan([obj])
    assert list(result.by_workload) == [WorkloadRef("ReplicaSet", "shop", long_name, "app")]
    slim, _ = slim_report(obj)
    assert scan([slim]).by_workload.keys() == result.by_workload.keys()


def test_links_are_kept_only_when_plain_http_or_https() -> None:
    assert safe_link("https://avd.aquasec.com/nvd/cve-2024-1") == \
        "https://avd.aquasec.com/nvd/cve-2024-1"
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "java\tscript:alert(1)",
                " https://x.example", "data:text/html,<script>", "//evil.example/x",
                "https://", "https://x.example/" + "a" * 600, "https://x.example/\x00",
                "vbscript:msgbox", None, 42):
        assert safe_link(bad) == "", bad


def test_hostile_entries_are_bounded_and_inert() -> None:
    long = "<script>alert(1)</script>" * 400
    result = scan([report("r", "Pod", "p", "c",
                          vuln(long, package=long, installed=long, fixed=long, title=long,
                               primaryLink="javascript:alert(1)", score="10"),
                          vuln(long + "x", package=long, installed=long),
                          {"vulnerabilityID": None}, "nope", {"vulnerabilityID": ""},
                          vuln("CVE-2", score=1e9), vuln("CVE-3", score=True),
                          repository=long, tag=long)])
    (image,) = result.images
    assert len(image.ref) <= 512
    first, second = image.vulnerabilities[:2]
    assert first.id != second.id, "identities stay distinct when shortened"
    for v in image.vulnerabilities:
        assert len(v.id) <= 128 and len(v.package) <= 256 and len(v.installed) <= 128
        assert len(v.fixed) <= 256 and len(v.title) <= 300
        assert v.score is None
    assert first.link == second.link == ""  # javascript:, and a URL too long to show whole
    assert len(image.vulnerabilities) == 4


def test_huge_reports_keep_their_most_urgent_entries() -> None:
    entries = [vuln(f"CVE-L{i}", severity="LOW") for i in range(REPORT_ENTRIES + 50)]
    entries.append(vuln("CVE-C", fixed="2"))
    slim, dropped = slim_report(report("r", "Pod", "p", "c", *entries))
    kept = slim["report"]["vulnerabilities"]
    assert len(kept) == REPORT_ENTRIES and dropped == 51
    assert kept[0]["vulnerabilityID"] == "CVE-C"
    assert len(json.dumps(slim)) < REPORT_ENTRIES * 250
    assert CLUSTER_ENTRIES >= 10 * REPORT_ENTRIES


def test_slim_report_keeps_what_scan_reads_and_drops_the_rest() -> None:
    obj = report("replicaset-web-5d8f9c-app", "ReplicaSet", "web-5d8f9c", "app",
                 vuln("CVE-1", fixed="2", description="x" * 5000, links=["https://a"] * 50,
                      cvss={"nvd": {"V3Score": 9.8}}, score=9.8))
    obj["metadata"]["managedFields"] = [{"x": "y" * 1000}]
    slim, dropped = slim_report(obj)
    assert dropped == 0 and len(json.dumps(slim)) < 1200
    assert scan([slim], WORKLOADS).images == scan([obj], WORKLOADS).images


def test_findings_say_per_image_how_many_are_fixable_and_what_to_upgrade() -> None:
    inv = clean_inventory(vulnerabilityreports=[report(
        "replicaset-web-5d8f9c-app", "ReplicaSet", "web-5d8f9c", "app",
        vuln("CVE-1", package="libssl3", installed="3.0.11-1", fixed="3.0.15-1"),
        vuln("CVE-2", package="zlib1g", installed="1:1.2.13"),
        vuln("CVE-3", package="curl", installed="7.88", fixed="7.88.1-10+deb12u8",
             severity="HIGH"))])
    result = evaluate(inv, Policy(), TODAY)
    critical = next(f for f in result.findings if f.check == "vulnerability.critical")
    assert critical.message == ("2 critical vulnerabilities in image ghcr.io/shop/web:1.2.3 "
                                "(container app): 1 fixable, 1 without a fix yet")
    assert critical.evidence == {"count": 2, "fixable": 1, "image": "ghcr.io/shop/web:1.2.3",
                                 "threshold": 0, "upgrades": ["libssl3 3.0.11-1 → 3.0.15-1"]}
    high = next(f for f in result.findings if f.check == "vulnerability.high")
    assert high.evidence["upgrades"] == ["curl 7.88 → 7.88.1-10+deb12u8"]
    assert result.vulnerabilities is not None and len(result.vulnerabilities.images) == 1


def test_vulnerabilities_are_read_even_when_the_checks_are_off() -> None:
    inv = clean_inventory(vulnerabilityreports=[report("r", "Pod", "p", "c", vuln("CVE-1"))])
    policy = Policy(disabled_checks=("vulnerability.critical", "vulnerability.high"))
    result = evaluate(inv, policy, TODAY)
    assert result.vulnerabilities is not None and result.vulnerabilities.images
    absent = clean_inventory()
    absent["coverage"]["vulnerabilityreports"] = {"state": "absent", "message": "", "count": 0}
    assert evaluate(absent, Policy(), TODAY).vulnerabilities is None
