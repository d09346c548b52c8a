"""A cluster whose API server serves hostile text polls into a snapshot that stores it safely."""

from __future__ import annotations

import json

import pytest

from clusters import collector, kube
from posture.domain.models import Finding, Snapshot, SnapshotStatus
from posture.domain.polling import poll
from tests.emulated import register

pytestmark = pytest.mark.django_db

FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=5), deadline_seconds=30)
LONG = "<script>alert(1)</script>" * 400
IMG = '"><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://x.example.invalid","y")'


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def stored_text(cluster) -> str:
    """Every string a poll stored for ``cluster`` (rows and JSON columns), one per line."""
    rows = [*Snapshot.objects.filter(cluster=cluster).values(),
            *Finding.objects.filter(cluster=cluster).values()]
    return "\n".join(_strings(rows))


@pytest.mark.threat('Hostile cluster data breaks storage (NUL bytes, huge strings)',
                     'NUL stripped before parsing, identity names shortened with a hash; the hostile scenario polls twice with no change')
def test_hostile_cluster_polls_and_stores_safely(emulate, results):
    emulator = emulate("hostile")
    cluster = register(emulator, "hostile")
    snapshot = poll(cluster.pk, opts=FAST).snapshot
    assert snapshot.status == SnapshotStatus.OK, snapshot.error
    findings = Finding.objects.filter(cluster=cluster)
    text = stored_text(cluster)

    # NUL characters: refused by PostgreSQL in text and jsonb, dropped while parsing.
    served_nul = sum("\\u0000" in json.dumps(o)
                     for r in ("nodes", "namespaces", "pods", "clusterrolebindings")
                     for o in emulator.objects(r))
    assert served_nul >= 5
    assert "\x00" not in text
    assert any(n["name"] == "nodeone" for n in snapshot.nodes)

    # Payloads are stored as they came (escaping is the pages' job), in names and messages.
    names = set(findings.values_list("name", flat=True))
    assert IMG in names and "<script>alert(1)</script>" in set(
        findings.values_list("namespace", flat=True))
    assert snapshot.kubernetes_version == 'v1.33.2-"><img src=x onerror=alert(1)>'
    assert any(n["os_image"].startswith("<script>") for n in snapshot.nodes)
    assert "\u202e" in text and FORMULA in text and "javascript:alert(1)" in text
    assert all(c in text for c in ("\u2066", "\u200b", "\ufeff", "\U000e0041", "שלום"))

    # 10 kB strings: identity fields are shortened with a hash; node fields are cut.
    longest = max(len(v) for f in findings.values_list("namespace", "name", "container")
                  for v in f)
    assert longest == 253
    shortened = [n for n in names if n.startswith("<script>alert(1)</script><script>")]
    assert shortened and all(len(n) == 253 and "~" in n for n in shortened)
    assert all(len(n["kernel"]) <= 200 for n in snapshot.nodes)
    quoted = max(max(len(f.message), len(json.dumps(f.evidence))) for f in findings)
    assert quoted < 1000  # the checks clip what they quote

    # The same hostile cluster polled again is unchanged: shortened identities are stable.
    ids = set(findings.values_list("pk", flat=True))
    again = poll(cluster.pk, opts=FAST).snapshot
    assert again.status == SnapshotStatus.OK
    assert set(Finding.objects.filter(cluster=cluster).values_list("pk", flat=True)) == ids
    assert not Finding.objects.filter(cluster=cluster, resolved_at__isnull=False).exists()

    rows = [
        ("markup and script: `<script>`, `<img onerror>`, `<svg onload>`",
         "names of nodes, namespaces, workloads, containers, services, RBAC objects and "
         "subjects; images; node OS; the version string",
         "poll ok; stored verbatim, as data: the version is stored as "
         f"{snapshot.kubernetes_version!r}"),
        ("`javascript:` URLs and spreadsheet formulas (`=HYPERLINK(…)`)",
         "annotations, labels, images, RBAC subjects, /version fields",
         "stored verbatim; nothing in a poll turns them into links or cells"),
        ("NUL characters (`\\u0000`)",
         "node name and OS, namespace, workload and container names, annotations, image, "
         "RBAC subject, /version",
         f"dropped while the JSON is parsed ({served_nul} served objects carried one); nothing "
         "stored contains one, so PostgreSQL accepts every row"),
        ("10 kB strings", "kernel version, namespace, workload and container names, image, "
         "annotation, RBAC subject",
         f"names that key findings shortened to {longest} characters ending in `~` and a hash "
         "(distinct, and stable: a second poll changed no finding); node fields cut to 200; "
         "findings' messages and evidence quote under 1,000 characters"),
        ("hidden characters: bidi override and isolate (U+202E, U+2066), zero-width space "
         "(U+200B), byte order mark (U+FEFF), a tag character (U+E0041), with a Hebrew word",
         "node, namespace, pod, workload and container names, labels, images, node OS, kernel "
         "and runtime strings, RBAC subjects, a Trivy title",
         "stored verbatim (the JSON API returns them exact); every page, CSV, chart and the "
         "digest show each as an escape (`\\u202e`), names isolated in bdi elements "
         "(tests/reliability/test_hostile_pages.py)"),
    ]
    for order, (payload, where, outcome) in enumerate(rows):
        results.add("data", f"hostile-{order}", order, payload=payload, where=where,
                    outcome=outcome)


@pytest.mark.threat('Hostile Trivy reports store script, formulas or javascript: links',
                     'Report entries are bounded and checked as read: identity strings shortened with a hash, free text clipped, links kept only when plain http(s) URLs; pages escape the rest')
def test_hostile_trivy_reports_store_bounded_and_without_script_links(emulate):
    from posture.domain.models import Image, ImageVulnerability

    cluster = register(emulate("hostile"), "hostile")
    assert poll(cluster.pk, opts=FAST).snapshot.status == SnapshotStatus.OK
    (image,) = Image.objects.filter(cluster=cluster)
    assert [(w.namespace, w.name, w.container) for w in image.workloads.all()] == [
        ("<script>alert(1)</script>", IMG, "<svg onload=alert(1)>")]
    rows = {v.vulnerability_id: v for v in ImageVulnerability.objects.filter(cluster=cluster)}
    assert set(rows) == {"<script>alert(1)</script>", "CVE-2024-0001", "CVE-2024-0002",
                         "CVE-2024-0003"}
    links = {k: v.link for k, v in rows.items()}
    assert links == {"<script>alert(1)</script>": "", "CVE-2024-0001": "", "CVE-2024-0002": "",
                     "CVE-2024-0003": 'https://avd.aquasec.com/nvd/cve-2024-0003">'
                                      '<script>alert(1)</script>'}
    scripted = rows["<script>alert(1)</script>"]
    assert scripted.package == FORMULA and scripted.severity == "critical"
    assert len(scripted.installed_version) == 128 and "~" in scripted.installed_version
    assert len(scripted.title) == 300
    assert rows["CVE-2024-0001"].severity == "unknown"  # '<b>CRITICAL</b>' is no severity
    # Polled again: nothing changes, so nothing is written.
    ids = set(ImageVulnerability.objects.values_list("pk", flat=True))
    poll(cluster.pk, opts=FAST)
    assert set(ImageVulnerability.objects.values_list("pk", flat=True)) == ids
    assert not ImageVulnerability.objects.filter(resolved_at__isnull=False).exists()
