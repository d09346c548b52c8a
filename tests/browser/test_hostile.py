"""Hostile text from a cluster is shown as text: no script runs, no element is injected."""

from __future__ import annotations

import pytest
import yaml
from playwright.sync_api import Browser, Dialog, Page, expect

from posture.domain.models import Finding, Trigger
from posture.domain.polling import poll
from tests.browser.conftest import DESKTOP, open_page, sign_in
from tests.emulated import register


def payload(n: int) -> str:
    return f'"><img src=x onerror=alert({n}) class=pwned>'


NAME = "<img src=x onerror=alert(1) class=pwned>"
LABELS = {"team": "<script>alert(2)</script>", "<b class=pwned>env</b>": payload(3)}
SCENARIO = {
    "name": "hostile",
    "provider": "kubeadm",
    "version": "v1.35.2",
    "nodes": [{
        "pool": "pool",
        "names": [payload(4)],
        "osImage": "<script>alert(5)</script>Linux",
        "kernelVersion": payload(6),
        "containerRuntimeVersion": "containerd://2.0.6",
    }],
    "namespaces": [{"name": payload(7), "labels": {"team": payload(8)}}],
    "workloads": [{
        "kind": "Deployment",
        "namespace": payload(7),
        "name": "<script>alert(9)</script>",
        "replicas": 1,
        "template": {
            "metadata": {"labels": {"app": payload(10)}},
            "spec": {"containers": [{
                "name": "<svg onload=alert(11) class=pwned>",
                "image": f"registry.example/{payload(12)}:latest",
                "securityContext": {"privileged": True},
            }]},
        },
    }],
    "vulnerabilityreports": [{
        "namespace": payload(7),
        "workload": "Deployment/<script>alert(9)</script>",
        "container": "<svg onload=alert(11) class=pwned>",
        "vulnerabilities": [{
            "vulnerabilityID": payload(13), "resource": "<script>alert(14)</script>",
            "installedVersion": payload(15), "fixedVersion": payload(16),
            "severity": "CRITICAL", "title": payload(17),
            "primaryLink": "javascript:alert(18)",
        }, {
            "vulnerabilityID": "CVE-2024-0001", "resource": "openssl",
            "installedVersion": "1.0", "fixedVersion": "", "severity": "HIGH",
            "title": "a link with markup in it",
            "primaryLink": f"https://avd.aquasec.com/nvd/{payload(19)}",
        }],
    }],
}
# Elements or attributes that exist only if markup from the cluster went into the page as HTML.
INJECTED = ".pwned, img[src=x], [onerror], [onload]"
# Scripts that would run (JSON data blocks hold the text legitimately, escaped).
RUNNABLE_INJECTED = """() => [...document.scripts]
  .filter(s => s.type !== 'application/json' && s.text.includes('alert(')).length"""


@pytest.mark.threat('Cluster-controlled text runs as script in a page, chart, email or export',
                     'Autoescaping everywhere, hover text escaped before it reaches plotly, CSP without inline scripts; a hostile scenario rendered on every page')
def test_hostile_names_and_labels_stay_text(browser: Browser, live_server, signed_in, alice,
                                             emulate, tmp_path):
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    emulator = emulate(str(path))
    cluster = register(emulator, NAME, labels=LABELS)
    cluster.owners.add(alice)
    poll(cluster.pk, Trigger.SCHEDULE)
    findings = Finding.objects.filter(cluster=cluster)
    assert findings.filter(namespace=payload(7)).exists(), "the payloads must reach findings"
    finding = findings.filter(namespace=payload(7)).order_by("pk").first()

    # CSP would stop inline handlers anyway; bypassing it tests the escaping on its own.
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, bypass_csp=True)
    dialogs: list[str] = []

    def dialog(d: Dialog) -> None:
        dialogs.append(d.message)
        d.dismiss()

    context.on("dialog", dialog)
    page: Page = context.new_page()
    sign_in(context, live_server.url, alice)
    pages = ["/", "/clusters/", cluster.get_absolute_url(), f"/clusters/{cluster.pk}/checklist/",
             f"/clusters/{cluster.pk}/trends/", f"/findings/{finding.pk}/",
             f"/clusters/{cluster.pk}/settings/", f"/clusters/{cluster.pk}/vulnerabilities/",
             f"/clusters/{cluster.pk}/frameworks/", f"/clusters/{cluster.pk}/frameworks/cis/",
             f"/clusters/{cluster.pk}/frameworks/nsa/", "/frameworks/", "/frameworks/cis/",
             "/frameworks/cis/5.2.2/", f"/clusters/{cluster.pk}/report/"]
    try:
        for url in pages:
            open_page(page, url)
            expect(page.locator(INJECTED), url).to_have_count(0)
            assert page.evaluate(RUNNABLE_INJECTED) == 0, url
        page.goto("/")
        expect(page.locator("#fleet-table").get_by_role("link", name=NAME)).to_be_visible()
        expect(page.locator("#fleet-table").get_by_text(f"team={LABELS['team']}")).to_be_visible()
        page.goto(f"/findings/{finding.pk}/")
        expect(page.locator("#finding-facts")).to_contain_text(payload(7))
        page.goto(f"/clusters/{cluster.pk}/vulnerabilities/")
        expect(page.locator(".cve-table").first).to_contain_text(payload(13))
        expect(page.locator("a[href^='javascript']")).to_have_count(0)
        page.goto(f"/clusters/{cluster.pk}/frameworks/cis/")
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        expect(page.locator('tr[data-control="5.2.2"] .control-findings')).to_contain_text(
            payload(7))
        expect(page.locator(INJECTED)).to_have_count(0)
        page.goto("/frameworks/cis/5.2.2/")
        expect(page.locator("#failing-clusters")).to_contain_text(NAME)
    finally:
        context.close()
    assert dialogs == []


# A binding whose subject starts with U+202E RIGHT-TO-LEFT OVERRIDE: shown raw, the rest of the
# message after it reads backwards ("User gnihtyna od nac admin…").
BIDI_SCENARIO = {
    "name": "bidi",
    "provider": "kubeadm",
    "version": "v1.35.2",
    "nodes": [{"pool": "pool", "osImage": "Ubuntu 24.04.2 LTS",
               "kernelVersion": "6.8.0-55-generic", "containerRuntimeVersion": "containerd://2.0.6"}],
    "clusterrolebindings": [{
        "name": "ops-admins",
        "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "\u202enimda"}, {"kind": "User", "name": "alice"}],
    }],
}
# Each word of an element's text with the box it is drawn in, in the text's (logical) order.
WORD_BOXES = """(element) => {
  const words = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const box = range.getBoundingClientRect();
      words.push({word: match[0], left: box.left, top: box.top});
    }
  }
  return words;
}"""


@pytest.mark.threat("Bidi controls or invisible characters in cluster text disguise names "
                    "(U+202E shows a subject reversed)",
                    "One definition of hidden characters (`posture/checks/hidden.py`: controls, "
                    "format characters, separators, default-ignorables, tags), shown as escapes "
                    "such as `\\u202e` on pages, charts, CSV, mail and `posture scan` output; each "
                    "value isolated in `bdi` and by CSS; the JSON API keeps the exact data, since "
                    "it is data, not display")
def test_a_reversed_subject_reads_in_logical_order(signed_in, alice, emulate, tmp_path):
    path = tmp_path / "bidi.yaml"
    path.write_text(yaml.safe_dump(BIDI_SCENARIO), encoding="utf-8")
    cluster = register(emulate(str(path)), "bidi")
    cluster.owners.add(alice)
    poll(cluster.pk, Trigger.SCHEDULE)
    page: Page = signed_in(alice)
    page.goto(f"/clusters/{cluster.pk}/checklist/")
    problem = page.locator("#check-access-cluster-admin-binding table.findings td a",
                           has_text="nimda").first
    expect(problem).to_contain_text("ClusterRoleBinding ops-admins")

    words = problem.evaluate(WORD_BOXES)
    lines: dict[int, list[float]] = {}
    for word in words:
        lines.setdefault(round(word["top"]), []).append(word["left"])
    # Read in the text's order, each line's words go left to right and lines go downwards.
    assert all(lefts == sorted(lefts) for lefts in lines.values()), words
    assert list(lines) == sorted(lines), words
    # The override is shown, as an escape, where it stands.
    expect(problem).to_contain_text("User \\u202enimda can do anything")
    assert [w["word"] for w in words][:4] == ["User", "\\u202enimda", "can", "do"]
