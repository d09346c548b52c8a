"""The collector reads Trivy reports over real HTTPS, keeping what Posture reads, bounded."""

from __future__ import annotations

import json

import yaml

from clusters import collector, kube
from clusters.kubeconfig import credentials
from posture.checks import trivy

FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=10), deadline_seconds=60)


def _collect(emulator, **options):
    opts = collector.Options(**{**FAST.__dict__, **options})
    return collector.collect(credentials(emulator.kubeconfig()), opts)


def test_reports_arrive_slim_and_named_after_their_workloads(emulate):
    emulator = emulate("neglected")
    served = emulator.objects("vulnerabilityreports")
    inventory = _collect(emulator, page_size=2)  # several pages
    reports = inventory["vulnerabilityreports"]
    assert inventory["coverage"]["vulnerabilityreports"] == {
        "state": "read", "count": len(served), "message": ""}
    assert len(reports) == len(served) == 4
    assert len(json.dumps(reports)) < len(json.dumps(served))
    assert {k for r in reports for k in r["metadata"]} <= {"name", "namespace", "labels",
                                                          "annotations"}
    result = trivy.scan(reports, [(w["kind"], w["namespace"], w["name"])
                                  for w in inventory["workloads"]])
    billing = next(i for i in result.images if i.repository == "jsmith42/billing-svc")
    assert [(w.kind, w.name) for w in billing.workloads] == [
        ("Deployment", "billing"), ("Deployment", "billing-worker")]
    assert len(billing.vulnerabilities) == 12


def test_a_huge_report_keeps_its_most_urgent_entries_and_says_so(emulate, tmp_path):
    scenario = yaml.safe_load(open("emulator/scenarios/well-kept.yaml"))
    scenario.pop("timeline")
    entries = [{"vulnerabilityID": f"CVE-2024-{i:05}", "resource": f"pkg{i % 300}",
                "installedVersion": "1.0", "fixedVersion": "", "severity": "LOW",
                "title": "filler " * 20, "description": "x" * 200,
                "primaryLink": f"https://avd.aquasec.com/nvd/cve-2024-{i:05}"}
               for i in range(120)]
    entries.append({"vulnerabilityID": "CVE-2021-44228", "resource": "log4j-core",
                    "installedVersion": "2.14.1", "fixedVersion": "2.15.0",
                    "severity": "CRITICAL"})
    scenario["vulnerabilityreports"][0]["vulnerabilities"] = entries
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(scenario))
    # The shipped limits are far larger (a real report cannot be bigger than etcd allows);
    # the same code path with small ones keeps the test fast.
    assert trivy.REPORT_ENTRIES >= 10_000 and trivy.CLUSTER_ENTRIES >= 20 * trivy.REPORT_ENTRIES
    inventory = _collect(emulate(str(path)), page_size=1, report_entries=100)
    web = next(r for r in inventory["vulnerabilityreports"]
               if r["metadata"]["labels"]["trivy-operator.container.name"] == "web")
    kept = web["report"]["vulnerabilities"]
    assert len(kept) == 100
    assert kept[0]["vulnerabilityID"] == "CVE-2021-44228"
    assert "description" not in kept[1]
    coverage = inventory["coverage"]["vulnerabilityreports"]
    assert coverage["state"] == "read" and coverage["message"] == (
        "21 vulnerability entries past the limits (at most 100 per report, 200,000 per poll) "
        "were not read; the most urgent of each report were kept")


def test_the_per_poll_budget_spans_every_report():
    items: list = []
    sink = collector._Reports(items, budget=3)
    entry = {"vulnerabilityID": "CVE-1", "resource": "a", "severity": "HIGH"}
    for name in ("a", "b"):
        sink.add({"metadata": {"name": name}, "report": {"vulnerabilities": [
            entry, {**entry, "vulnerabilityID": "CVE-2"}]}})
    assert [len(r["report"]["vulnerabilities"]) for r in items] == [2, 1]
    assert sink.dropped == 1
    sink.reset()
    assert items == [] and sink.left == 3 and sink.dropped == 0
