"""Hidden characters from a hostile cluster are shown, never drawn: every page, the digest, CSVs.

The ``hostile`` scenario puts U+202E, U+2066, U+200B, U+FEFF, a tag character and a Hebrew word
in names, namespaces, subjects, images, labels, node OS strings and messages (a platform-managed
DaemonSet in kube-system among them); the cluster's own name and labels (typed by a user) carry
them too. Every page is rendered for it and read as a
browser would: no hidden character may stand raw in a body, none may reach a text node, a chart
or a cell, and each hostile value must be shown as its escapes inside ``<bdi>``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from clusters import collector, kube
from posture.checks import CHECKSET_VERSION
from posture.checks.hidden import has_hidden, is_hidden, visible
from posture.domain import digest
from posture.domain.audit import Action, record
from posture.domain.models import Finding, RiskAcceptance, Snapshot, SnapshotStatus
from posture.domain.polling import poll
from tests.emulated import register
from tests.test_authorization import walk

pytestmark = pytest.mark.django_db

FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=5), deadline_seconds=30)
NAME = "prod-\u202egnp.exe\u200b שלום"
LABELS = {"team\u2066": "\ufeffops\U000e0041"}
LABEL = "team\u2066=\ufeffops\U000e0041"  # as a filter
NAMESPACE = "bidi\u202esn\u200b"
WORKLOAD = "web-\u2066שלום\u200b"
# Platform-managed (kube-system): shown apart on the scorecard, the checklist and fleet pages.
PLATFORM = "kube-proxy-\u202eשלום\u200b"
PLATFORM_RESOURCE = f"DaemonSet kube-system/{PLATFORM}"
SUBJECT = "\u202enimda"
NODE = "node-\u202eeno\u200b"
OS_IMAGE = "Ubuntu 24.04.2 LTS\u2066 שלום\ufeff"
IMAGE = "registry.example.invalid/\u202egnp.exe\u200b:1.0"
REASON = "accepted by\u202e the owner\u200b"
ERROR = "connection reset\u202e by peer\u2066\U000e0041"

# Where a form may hold the exact value: the browser sends it back (written as &#x202e;).
EXACT_ATTRIBUTES = {("input", "value"), ("option", "value")}
# Elements whose text cannot hold <bdi> (the parser drops tags there): visible form only.
TEXT_ONLY = {"title", "option", "textarea"}
# Not pages: forms' targets, logins, the stylesheet, metrics, the health probes (they show no
# cluster text) and the progress answer (JSON, checked on its own below).
NOT_PAGES = {"logout", "login", "metrics", "vocabulary-css", "clusters:poll", "clusters:accept-risk",
             "clusters:revoke-risk", "clusters:poll-status", "oidc:login", "oidc:callback",
             "healthz", "readyz",
             # Markdown and JSON, read below: the issue shows escapes, the JSON is data.
             "clusters:issue-markdown", "fixes-json"}


class Page(HTMLParser):
    """Read an HTML body as a browser would: text nodes (in <bdi> or not) and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.texts: list[tuple[str, bool, str]] = []  # (text, inside <bdi>, element)
        self.attributes: list[tuple[str, str, str]] = []
        self.json_blocks: list[str] = []
        self._json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            self.attributes.append((tag, name, value or ""))
        self._json = tag == "script" and ("type", "application/json") in attrs
        if tag not in {"meta", "link", "input", "br", "img", "hr"}:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass
        self._json = False

    def handle_data(self, data: str) -> None:
        if self._json:
            self.json_blocks.append(data)
        elif data.strip():
            self.texts.append((data, "bdi" in self.stack, self.stack[-1] if self.stack else ""))


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def check_html(body: str, where: str) -> Page:
    """Assert that ``body`` holds no hidden character a reader could not see; return it read."""
    raw = sorted({f"U+{ord(c):04X}" for c in body if is_hidden(c) and c != "\n"})
    assert raw == [], f"{where}: raw hidden characters {raw}"
    page = Page()
    page.feed(body)
    for text, _, element in page.texts:
        assert not has_hidden(text.replace("\n", "")), f"{where}: <{element}> {text!r}"
    for tag, name, value in page.attributes:
        if (tag, name) not in EXACT_ATTRIBUTES:
            assert not has_hidden(value), f"{where}: <{tag} {name}={value!r}>"
    for block in page.json_blocks:
        for text in _strings(json.loads(block)):
            assert not has_hidden(text), f"{where}: chart text {text!r}"
    return page


def isolated(page: Page, shown: str) -> list[bool]:
    """Return, for each text node that shows ``shown``, whether it is isolated (or text-only)."""
    return [inside or element in TEXT_ONLY for text, inside, element in page.texts
            if shown in text]


@pytest.fixture
def hostile(emulate, alice, sam):
    """The hostile cluster, polled once after an earlier poll (so its findings are news)."""
    emulator = emulate("hostile")
    cluster = register(emulator, NAME, labels=LABELS)
    cluster.owners.add(alice)
    now = timezone.now()
    Snapshot.objects.create(cluster=cluster, taken_at=now - timedelta(days=2),
                            status=SnapshotStatus.OK, score=90.0, grade="A",
                            checkset_version=CHECKSET_VERSION, coverage={})
    assert poll(cluster.pk, opts=FAST).snapshot.status == SnapshotStatus.OK
    Snapshot.objects.create(cluster=cluster, taken_at=timezone.now() + timedelta(seconds=1),
                            status=SnapshotStatus.FAILED, error_kind="reset", error=ERROR)
    RiskAcceptance.objects.create(cluster=cluster, check_id="workload.privileged",
                                  namespace=NAMESPACE, reason=REASON, created_by=alice,
                                  expires_at=now + timedelta(days=3))
    record(Action.REGISTER, actor=sam, cluster=cluster,
           detail={"server": cluster.server, "context": "ctx\u202e\u200b"})
    return cluster


def pages(cluster) -> dict[str, list[str]]:
    """Return every page's URLs for the hostile cluster, by URL name."""
    findings = Finding.objects.filter(cluster=cluster)
    shown = [findings.filter(name=WORKLOAD).first().pk,
             findings.get(check_id="access.cluster-admin-binding", name=SUBJECT).pk]
    pk = [cluster.pk]
    return {
        "home": [reverse("home"), reverse("home") + "?" + urlencode({"label": LABEL})],
        "policy": [reverse("policy")],
        "audit": [reverse("audit"), reverse("audit") + "?" + urlencode({"cluster": NAME})],
        "clusters:list": [reverse("clusters:list")],
        "clusters:register": [reverse("clusters:register")],
        "clusters:detail": [reverse("clusters:detail", args=pk)],
        "clusters:settings": [reverse("clusters:settings", args=pk)],
        "clusters:delete": [reverse("clusters:delete", args=pk)],
        "clusters:trends": [reverse("clusters:trends", args=pk)],
        "clusters:checklist": [reverse("clusters:checklist", args=pk),
                              reverse("clusters:checklist", args=pk) + "?"
                              + urlencode({"namespace": NAMESPACE})],
        "finding": [reverse("finding", args=[f]) for f in shown],
        "fleet-findings": [reverse("fleet-findings"),
                           reverse("fleet-findings") + "?" + urlencode({"label": LABEL,
                                                                       "q": "\u202e"})],
        "fleet-check": [reverse("fleet-check", args=[c])
                        for c in ("workload.privileged", "access.cluster-admin-binding")],
        "clusters:vulnerabilities": [reverse("clusters:vulnerabilities", args=pk)],
        "clusters:who-can": [reverse("clusters:who-can", args=pk)],
        "clusters:frameworks": [reverse("clusters:frameworks", args=pk)],
        "clusters:framework": [reverse("clusters:framework", args=[cluster.pk, fw])
                               for fw in ("cis", "nsa")],
        "frameworks": [reverse("frameworks")],
        "framework": [reverse("framework", args=[fw]) for fw in ("cis", "nsa")],
        "framework-control": [reverse("framework-control", args=["cis", c])
                              for c in ("5.1.1", "5.2.2")],
        "clusters:report": [reverse("clusters:report", args=pk)],
        "fleet-report": [reverse("fleet-report")],
        "digest:preferences": [reverse("digest:preferences")],
        "digest:unsubscribe": [reverse("digest:unsubscribe",
                                       args=[digest.unsubscribe_token(cluster.owners.get())])],
        **alert_pages(cluster),
    }


def alert_pages(cluster) -> dict[str, list[str]]:
    """A rule named with hidden characters, and a delivery about the hostile cluster."""
    from django.contrib.auth.models import User

    from posture.domain import alerts
    from posture.domain.alert_models import AlertEvent

    sam = User.objects.get(username="sam")
    rule, _ = alerts.create_rule(sam, recipient=sam, name=REASON, kind="grade-dropped",
                                 threshold=0, channel="email")
    event = AlertEvent.objects.create(cluster=cluster, kind="grade-dropped", key="hostile",
                                      occurred_at=timezone.now(),
                                      detail={"from": "B", "to": "F", "score": 40})
    alerts.fan_out(event, timezone.now())
    return {"alert-rules": [reverse("alert-rules")],
            "alert-rule-edit": [reverse("alert-rule-edit", args=[rule.pk])],
            "alert-outbox": [reverse("alert-outbox")]}


CSVS = ("audit-csv", "findings-csv", "clusters:findings-csv", "fleet-findings-csv",
        "fleet-check-csv", "clusters:vulnerabilities-csv", "fixes-csv", "clusters:framework-csv",
        "framework-csv")
# What each page must show, as escapes inside <bdi>.
SHOWN = {
    "clusters:detail": [NAME, *LABELS, *LABELS.values(), NODE, OS_IMAGE, ERROR, NAMESPACE,
                        PLATFORM_RESOURCE],
    "clusters:checklist": [NAME, NAMESPACE, WORKLOAD, SUBJECT, REASON, PLATFORM],
    "finding": [NAME, WORKLOAD, NAMESPACE],
    "alert-rules": [REASON],
    "alert-outbox": [NAME, REASON],
    "home": [NAME, *LABELS, *LABELS.values()],
    "clusters:list": [NAME],
    "clusters:vulnerabilities": [NAME, "tab in the scheme \u202edelbane\u200b שלום\U000e0041"],
    "fleet-check": [NAME, NAMESPACE, WORKLOAD, PLATFORM],
    "audit": [NAME, "ctx\u202e\u200b"],
    "digest:preferences": [NAME],
    "clusters:settings": [NAME],
    "clusters:delete": [NAME],
    "clusters:trends": [NAME],
    "clusters:frameworks": [NAME],
    "clusters:framework": [NAME, SUBJECT, NAMESPACE, PLATFORM],
    "framework-control": [NAME],
    "clusters:report": [NAME, REASON, NAMESPACE],
    "fleet-report": [NAME, REASON],
}


@pytest.mark.threat("Bidi controls or invisible characters in cluster text disguise names "
                    "(U+202E shows a subject reversed)",
                    "One definition of hidden characters (`posture/checks/hidden.py`: controls, "
                    "format characters, separators, default-ignorables, tags), shown as escapes "
                    "such as `\\u202e` on pages, charts, CSV, mail and `posture scan` output; each "
                    "value isolated in `bdi` and by CSS; the JSON API keeps the exact data, since "
                    "it is data, not display")
def test_every_page_digest_and_csv_shows_hidden_characters_as_escapes(hostile, as_sam,
                                                                     as_alice, alice):
    urls = pages(hostile)
    page_names = {name for name, _ in walk()} - NOT_PAGES - set(CSVS)
    page_names = {n for n in page_names if not n.startswith("api:")}
    assert page_names == set(urls), "render every page here: add the new page to pages()"

    for name, addresses in urls.items():
        for index, url in enumerate(addresses):
            client = as_alice if name.startswith("digest:") else as_sam
            response = client.get(url)
            assert response.status_code == 200, url
            page = check_html(response.content.decode(), url)
            # The first address of each page is unfiltered: it shows everything listed.
            for value in SHOWN.get(name, []) if index == 0 else []:
                where = isolated(page, visible(value))
                assert where, f"{url}: {visible(value)!r} is not shown"
                assert all(where), f"{url}: {visible(value)!r} outside <bdi>"

    # The platform-managed sections are reached, each with the hostile DaemonSet in them.
    detail = as_sam.get(reverse("clusters:detail", args=[hostile.pk])).content.decode()
    assert visible(PLATFORM) in detail[detail.index('id="platform-table"'):]
    checklist = as_sam.get(reverse("clusters:checklist", args=[hostile.pk])).content.decode()
    assert visible(PLATFORM) in checklist[checklist.index('id="platform-checklist"'):]
    fleet = as_sam.get(reverse("fleet-check", args=["workload.privileged"])).content.decode()
    assert "platform-managed</span>" in fleet[fleet.index(visible(PLATFORM)):]

    # A form keeps the exact value (a character reference in the page), so saving changes nothing.
    settings = as_sam.get(reverse("clusters:settings", args=[hostile.pk])).content.decode()
    assert "value=\"team&#x2066;=&#xfeff;ops&#xe0041;\"" in settings
    checklist = as_sam.get(reverse("clusters:checklist", args=[hostile.pk]) + "?"
                           + urlencode({"namespace": NAMESPACE})).content.decode()
    assert 'value="bidi&#x202e;sn&#x200b;" selected>' in checklist
    registration = as_alice.post(reverse("clusters:register"), {
        "name": NAME, "kubeconfig": "not: a kubeconfig", "poll_interval_minutes": "15",
        "action": "verify"}).content.decode()
    check_html(registration, "registration with a hostile name")
    assert 'value="prod-&#x202e;gnp.exe&#x200b; שלום"' in registration

    for name in CSVS:
        args = {"clusters:findings-csv": [hostile.pk], "clusters:vulnerabilities-csv": [hostile.pk],
                "fleet-check-csv": ["access.cluster-admin-binding"],
                "clusters:framework-csv": [hostile.pk, "cis"],
                "framework-csv": ["cis"]}.get(name, [])
        response = as_sam.get(reverse(name, args=args))
        assert response.status_code == 200, name
        text = b"".join(response.streaming_content).decode()
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert [c for c in cells if has_hidden(c)] == [], name
        if name != "fleet-findings-csv":  # one row per check: no cluster named
            assert any(visible(NAME) in c for c in cells), name
    assert "filename=\"posture-prod-_gnp.exe______-findings.csv\"" in as_sam.get(
        reverse("clusters:findings-csv", args=[hostile.pk]))["Content-Disposition"]

    # An issue copied out of Posture shows the escapes too, Markdown-escaped.
    shown_check = Finding.objects.filter(cluster=hostile, name=WORKLOAD,
                                         resolved_at__isnull=True).first().check_id
    issue = as_sam.get(reverse("clusters:issue-markdown",
                               args=[hostile.pk, shown_check])).content.decode()
    assert not has_hidden(issue.replace("\n", "")), issue
    assert "web\\-\\\\u2066" in issue
    # The JSON API is data: it keeps the exact names. The page's own progress answer is display.
    api = as_sam.get(reverse("api:findings", args=[hostile.pk])).json()
    assert WORKLOAD in {f["name"] for f in api["findings"]}
    # Besides the hostile DaemonSet, Kubernetes' own RBAC subjects (the emulator's defaults).
    assert {f["name"] for f in api["findings"] if f["platform_managed"]} == {
        PLATFORM, "system:masters", "system:kube-controller-manager"}
    card = as_sam.get(reverse("api:scorecard", args=[hostile.pk])).json()
    assert {r for g in card["platform_findings"] for r in g["resources"]} == {
        PLATFORM_RESOURCE, "Group system:masters", "User system:kube-controller-manager"}
    progress = as_sam.get(reverse("clusters:poll-status", args=[hostile.pk])).json()
    assert progress["error"] == visible(ERROR)

    built = digest.build(alice, timezone.now() + timedelta(hours=1))
    assert built is not None
    mail = built.render()
    html = check_html(mail.html, "digest (HTML)")
    for value in (NAME, NAMESPACE, WORKLOAD, ERROR):
        where = isolated(html, visible(value))
        assert where and all(where), f"digest: {visible(value)!r}"
    assert not has_hidden(mail.text.replace("\n", "")) and not has_hidden(mail.subject)
    for value in (NAME, WORKLOAD, ERROR):
        assert visible(value) in mail.text
