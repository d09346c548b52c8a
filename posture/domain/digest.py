"""The weekly digest: what changed in a recipient's clusters over the last seven days.

``build(user, now)`` gathers one recipient's ``Digest`` (only clusters they may see and chose);
``send_weekly(now)`` sends every recipient this week's digest exactly once (see
docs/digest.md for why a claimed row, and what happens when a worker dies mid-send). Time is
passed in as ``now``; only ``send_weekly`` reads the clock, when the schedule calls it bare.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from clusters.access import visible_clusters
from clusters.models import Cluster
from posture.checks import CATALOG
from posture.checks.safe import clip
from posture.checks.vocabulary import Severity
from posture.domain import mail
from posture.domain.models import (
    DigestDelivery,
    DigestPreference,
    Finding,
    OrgPolicy,
    RiskAcceptance,
    Snapshot,
    SnapshotStatus,
)
from posture.domain.scoring import Grade
from posture.lifecycle import Support, SupportStatus, kubernetes_support, os_support

log = logging.getLogger(__name__)

PERIOD = timedelta(days=7)
# Severities whose new findings the digest lists one by one.
URGENT: tuple[Severity, ...] = (Severity.CRITICAL, Severity.HIGH)
NEW_FINDINGS_SHOWN = 10
RESOLVED_SHOWN = 5
# Acceptances ending this soon are announced: their findings come back into the score.
ACCEPTANCE_NOTICE = timedelta(days=14)
# A delivery still "sending" after this long belonged to a worker that died mid-send.
STALE_CLAIM = timedelta(minutes=30)
INTERRUPTED = ("interrupted: the sending worker stopped before recording the outcome; not sent "
               "again, since the mail server may already have accepted it")
UNSUBSCRIBE_SALT = "posture.digest.unsubscribe"

def _plain(value: object, limit: int = 160) -> str:
    """Return untrusted text cut to ``limit`` characters, for the templates to show.

    Both parts show it through the ``untrusted`` (HTML) and ``visible`` (text) filters, which
    write a newline, an escape sequence or a bidi override as an escape (``\\u202e``): a newline
    cannot forge a line, a terminal (``send_digest --dry-run``) is not driven, and what a reader
    sees is not reordered, yet no character goes missing.
    """
    return clip(str(value), limit)


def absolute(path: str) -> str:
    """Return the link to ``path`` on this installation (``POSTURE_BASE_URL``)."""
    return settings.POSTURE_BASE_URL.rstrip("/") + path


def week_of(now: datetime) -> date:
    """Return the Monday, in ``TIME_ZONE``, of the week ``now`` falls in: the delivery's key."""
    today = timezone.localtime(now).date()
    return today - timedelta(days=today.weekday())


# --- What a digest holds ---------------------------------------------------------------------


def _grade(value: str) -> Grade | None:
    try:
        return Grade(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class ClusterLine:
    """One cluster's week: its score a week ago and now, and how its polls went."""

    cluster_id: int
    name: str
    url: str
    score_before: int | None
    grade_before: Grade | None
    score_now: int | None
    grade_now: Grade | None
    failed_polls: int
    last_poll_failed: bool
    last_error: str
    # Its first successful poll fell in this week: what it found then is a baseline, not news.
    added: bool = False

    @property
    def change(self) -> int | None:
        """Return the score's change over the week, when both ends have one."""
        if self.score_before is None or self.score_now is None:
            return None
        return self.score_now - self.score_before

    @property
    def change_text(self) -> str:
        if self.score_now is None:
            return "no score yet"
        if self.score_before is None:
            return "first scored this week"
        if self.change == 0:
            return "unchanged"
        return f"{self.change:+d} since last week"

    @property
    def poll_trouble(self) -> bool:
        return self.failed_polls > 0 or self.last_poll_failed


@dataclass(frozen=True)
class FindingLine:
    """A finding that appeared or went away this week."""

    cluster: str
    cluster_url: str
    severity: Severity
    check_id: str
    title: str
    workload: str
    at: datetime


@dataclass(frozen=True)
class AcceptanceLine:
    """A risk acceptance that ended this week or ends soon."""

    cluster: str
    cluster_url: str
    check_id: str
    title: str
    scope: str
    expires_at: datetime
    expired: bool


@dataclass(frozen=True)
class EolLine:
    """Kubernetes or a node OS past, or near, the end of its support."""

    cluster: str
    cluster_url: str
    subject: str
    status: SupportStatus
    eol: date | None
    days_left: int | None

    @property
    def past(self) -> bool:
        return self.status is SupportStatus.EOL

    @property
    def summary(self) -> str:
        """Return what both parts say after the subject, in the checks' words."""
        if self.status is SupportStatus.EOL:
            return f"is past end of life since {self.eol}" if self.eol else "is past end of life"
        if self.status is SupportStatus.EXTENDED:
            return f"is past standard support; extended support until {self.eol}"
        return f"reaches end of life in {self.days_left} days ({self.eol})"


@dataclass(frozen=True)
class Baseline:
    """What this week's baseline polls found: not news, so not counted as new findings.

    A cluster's first successful poll finds everything that was already there; the first poll
    under a changed check set (``checkset_version``) finds what the new rules see.
    """

    added_clusters: int = 0
    first_poll_findings: int = 0
    new_rules_findings: int = 0


@dataclass(frozen=True)
class EolCluster:
    """One cluster's end-of-life lines; it counts once, as past if any line is past."""

    cluster: str
    cluster_url: str
    lines: tuple[EolLine, ...]

    @property
    def past(self) -> bool:
        return any(line.past for line in self.lines)


@dataclass(frozen=True)
class Digest:
    """One recipient's weekly digest: the week from ``since`` to ``until``, their clusters only."""

    user: User
    week: date
    since: datetime
    until: datetime
    clusters: tuple[ClusterLine, ...]
    new_counts: tuple[tuple[Severity, int], ...]
    new_findings: tuple[FindingLine, ...]
    # Findings first seen this week in a baseline poll, left out of the new ones above.
    baseline: Baseline
    # New critical and high findings on platform-managed components, left out of the above.
    new_platform: int
    resolved_count: int
    resolved: tuple[FindingLine, ...]
    acceptances: tuple[AcceptanceLine, ...]
    eol: tuple[EolLine, ...]
    eol_window_days: int
    overview_url: str
    preferences_url: str
    unsubscribe_url: str

    @property
    def new_total(self) -> int:
        return sum(n for _, n in self.new_counts)

    @property
    def new_critical(self) -> int:
        return dict(self.new_counts).get(Severity.CRITICAL, 0)

    @property
    def new_high(self) -> int:
        return dict(self.new_counts).get(Severity.HIGH, 0)

    @property
    def eol_clusters(self) -> tuple[EolCluster, ...]:
        """Return the end-of-life lines by cluster: what the subject counts and the body lists."""
        grouped: dict[str, list[EolLine]] = {}
        for line in self.eol:
            # The link names the cluster by id: unique, unlike a display name.
            grouped.setdefault(line.cluster_url, []).append(line)
        return tuple(EolCluster(lines[0].cluster, url, tuple(lines))
                     for url, lines in grouped.items())

    @property
    def past_eol_clusters(self) -> int:
        """Return how many clusters run something past end of life."""
        return sum(1 for c in self.eol_clusters if c.past)

    @property
    def eol_soon_clusters(self) -> int:
        """Return how many clusters run nothing past end of life, but something near it."""
        return sum(1 for c in self.eol_clusters if not c.past)

    @property
    def poll_trouble(self) -> tuple[ClusterLine, ...]:
        return tuple(c for c in self.clusters if c.poll_trouble)

    def render(self) -> mail.Rendered:
        """Return the subject, text and HTML parts."""
        return mail.render("email/digest", {"digest": self})

    def headers(self) -> dict[str, str]:
        """Return the headers: one-click unsubscribe (RFC 8058), and a stable Message-ID.

        The Message-ID is the same for a recipient and week, so in the one case a digest could
        go out twice (the connection drops after the server took the message but before it
        said so) mail stores that de-duplicate by Message-ID show it once.
        """
        return {
            "List-Unsubscribe": f"<{self.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
            "Message-ID": message_id(self.user.pk, self.week),
        }


def message_id(user_pk: int, week: date) -> str:
    """Return the Message-ID of ``user_pk``'s digest for ``week``: stable, unique per install."""
    tag = salted_hmac("posture.digest.message-id", f"{user_pk}:{week.isoformat()}").hexdigest()
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "posture.invalid"
    return f"<digest.{week:%Y%m%d}.{user_pk}.{tag[:16]}@{domain}>"


# --- Building ---------------------------------------------------------------------------------


def chosen_clusters(user: User) -> QuerySet[Cluster]:
    """Return the clusters ``user`` may see and chose for the digest (none chosen: all)."""
    visible = visible_clusters(user)
    preference = DigestPreference.objects.filter(user=user).first()
    if preference is not None and preference.clusters.exists():
        visible = visible.filter(pk__in=preference.clusters.values("pk"))
    # A fresh queryset: the access helper's joins must not multiply the annotations below.
    return Cluster.objects.filter(pk__in=visible.values("pk")).order_by("name")


def _severity_rank() -> Case:
    return Case(*(When(severity=s.value, then=Value(s.rank)) for s in Severity),
                default=Value(-1), output_field=IntegerField())


def _workload(finding: Finding) -> str:
    if finding.kind == "Cluster":
        return "the cluster"
    where = "/".join(p for p in (finding.namespace, finding.name) if p)
    text = f"{finding.kind} {where}".strip()
    if finding.container:
        text += f" (container {finding.container})"
    return _plain(text, 200)


def _finding_line(finding: Finding, names: dict[int, tuple[str, str]], at: datetime) -> FindingLine:
    name, url = names[finding.cluster_id]
    check = CATALOG.get(finding.check_id)
    try:
        severity = Severity(finding.severity)
    except ValueError:
        severity = Severity.INFO
    return FindingLine(cluster=name, cluster_url=url, severity=severity,
                       check_id=_plain(finding.check_id, 96),
                       title=check.title if check else _plain(finding.check_id, 96),
                       workload=_workload(finding), at=at)


def _cluster_lines(clusters: QuerySet[Cluster], since: datetime, until: datetime
                   ) -> tuple[list[ClusterLine], dict[int, Snapshot]]:
    """Return each cluster's week and its latest successful snapshot (at or before ``until``)."""
    good = Snapshot.objects.successful_of(OuterRef("pk")).values("pk")
    finished = (Snapshot.objects.filter(cluster=OuterRef("pk"), taken_at__lte=until)
                .exclude(status=SnapshotStatus.RUNNING).order_by("-taken_at"))
    failures = (Snapshot.objects.filter(cluster=OuterRef("pk"), status=SnapshotStatus.FAILED,
                                        taken_at__gt=since, taken_at__lte=until)
                .order_by().values("cluster").annotate(n=Count("pk")).values("n"))
    rows = list(clusters.annotate(
        now_id=Subquery(good.filter(taken_at__lte=until)[:1]),
        before_id=Subquery(good.filter(taken_at__lte=since)[:1]),
        last_status=Subquery(finished.values("status")[:1]),
        last_error=Subquery(finished.values("error")[:1]),
        failures=Coalesce(Subquery(failures, output_field=IntegerField()), 0),
    ))
    wanted = {pk for row in rows for pk in (row.now_id, row.before_id) if pk}
    snapshots = Snapshot.objects.in_bulk(wanted)
    lines, current = [], {}
    for row in rows:
        now_snap, before = snapshots.get(row.now_id), snapshots.get(row.before_id)
        if now_snap is not None:
            current[row.pk] = now_snap
        last_failed = row.last_status == SnapshotStatus.FAILED
        lines.append(ClusterLine(
            cluster_id=row.pk, name=_plain(row.name, 63),
            url=absolute(reverse("clusters:detail", args=[row.pk])),
            score_before=_score(before), grade_before=_grade(before.grade) if before else None,
            score_now=_score(now_snap), grade_now=_grade(now_snap.grade) if now_snap else None,
            failed_polls=row.failures, last_poll_failed=last_failed,
            last_error=_plain(row.last_error or "", 200) if last_failed else "",
            added=before is None and now_snap is not None,
        ))
    return lines, current


def _score(snapshot: Snapshot | None) -> int | None:
    return None if snapshot is None or snapshot.score is None else round(snapshot.score)


def _ending(support: Support, window: int) -> bool:
    """Say whether ``support`` is what the end-of-life checks warn about, in the same terms."""
    if support.status in (SupportStatus.EOL, SupportStatus.EXTENDED):
        return True
    return (support.status is not SupportStatus.UNKNOWN and support.days_left is not None
            and support.days_left <= window)


def _node_images(snapshot: Snapshot) -> Counter[tuple[str, str, str]]:
    """Count nodes by (OS image, kernel, kubelet); the summary's counts once details are pruned."""
    if isinstance(snapshot.nodes, list):
        return Counter(
            (str(n.get("os_image", "")), str(n.get("kernel", "")), str(n.get("kubelet", "")))
            for n in snapshot.nodes if isinstance(n, dict))
    images = (snapshot.node_summary or {}).get("os_images") or {}
    return Counter({(str(image), "", ""): int(count) for image, count in images.items()
                    if isinstance(count, int)})


def _eol_lines(cluster: ClusterLine, snapshot: Snapshot, today: date,
               window: int) -> list[EolLine]:
    lines = []
    kube = kubernetes_support(snapshot.kubernetes_version or None, today,
                              snapshot.provider or None)
    if _ending(kube, window):
        where = f" on {kube.provider.label}" if kube.provider else ""
        lines.append(EolLine(cluster.name, cluster.url, f"Kubernetes {kube.cycle}{where}",
                             kube.status, kube.eol, kube.days_left))
    systems: dict[str, tuple[Support, int]] = {}
    for (image, kernel, kubelet), count in _node_images(snapshot).items():
        support = os_support(image or None, today, kernel_version=kernel or None,
                             kubelet_version=kubelet or None)
        if not _ending(support, window):
            continue
        label = (f"{support.family.label} {support.cycle}" if support.family and support.cycle
                 else _plain(image, 100))
        earlier = systems.get(label)
        systems[label] = (support, count + (earlier[1] if earlier else 0))
    for label, (system, count) in sorted(systems.items()):
        nodes = f"{count} node{'s' if count != 1 else ''}"
        lines.append(EolLine(cluster.name, cluster.url, f"{label} ({nodes})", system.status,
                             system.eol, system.days_left))
    return lines


def _acceptance_lines(ids: Sequence[int], names: dict[int, tuple[str, str]], since: datetime,
                      until: datetime) -> list[AcceptanceLine]:
    """Return acceptances that ended this week or end soon, unless renewed for longer."""
    horizon = until + ACCEPTANCE_NOTICE
    rows = RiskAcceptance.objects.filter(cluster_id__in=ids, expires_at__gt=since).filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=until))
    latest: dict[tuple[int, str, str, str], RiskAcceptance] = {}
    for row in rows:
        scope = (row.cluster_id, row.check_id, row.namespace, row.name_pattern)
        if scope not in latest or row.expires_at > latest[scope].expires_at:
            latest[scope] = row
    lines = []
    for row in sorted(latest.values(), key=lambda r: (r.expires_at, r.pk)):
        if row.expires_at > horizon:
            continue
        name, url = names[row.cluster_id]
        check = CATALOG.get(row.check_id)
        lines.append(AcceptanceLine(
            cluster=name, cluster_url=url, check_id=_plain(row.check_id, 96),
            title=check.title if check else _plain(row.check_id, 96),
            scope=_plain("/".join(p for p in (row.namespace, row.name_pattern) if p)
                         or "the whole cluster", 200),
            expires_at=row.expires_at,
            expired=row.expires_at <= until))
    return lines


# A finding's poll is a baseline when no successful poll came before it (the cluster's first),
# or the one before ran another check set. ``before`` is that earlier poll's check set.
_FIRST_POLL = Q(before__isnull=True)
_NEW_RULES = Q(before__isnull=False) & ~Q(before=F("first_seen__checkset_version"))
_NEWS = Q(before__isnull=False) & Q(before=F("first_seen__checkset_version"))


def _found_this_week(ids: Sequence[int], since: datetime, until: datetime) -> QuerySet[Finding]:
    """Return findings first seen this week, each with the check set of the poll before it."""
    before = (Snapshot.objects.successful_of(OuterRef("cluster_id"))
              .filter(taken_at__lt=OuterRef("first_seen__taken_at"))
              .values("checkset_version")[:1])
    return Finding.objects.filter(cluster_id__in=ids, first_seen_at__gt=since,
                                  first_seen_at__lte=until).annotate(before=Subquery(before))


def build(user: User, now: datetime) -> Digest | None:
    """Return ``user``'s digest for the seven days up to ``now``; None when they follow nothing."""
    since, until = now - PERIOD, now
    lines, current = _cluster_lines(chosen_clusters(user), since, until)
    if not lines:
        return None
    ids = [line.cluster_id for line in lines]
    names = {line.cluster_id: (line.name, line.url) for line in lines}

    policy = OrgPolicy.load().policy()
    open_at_end = Q(resolved_at__isnull=True) | Q(resolved_at__gt=until)
    found = _found_this_week(ids, since, until)
    counts = found.aggregate(first_poll=Count("pk", filter=_FIRST_POLL),
                             new_rules=Count("pk", filter=_NEW_RULES))
    new = (found.filter(_NEWS, severity__in=URGENT).filter(open_at_end)
           .annotate(rank=_severity_rank()).order_by("-rank", "-first_seen_at", "pk")
           .only("cluster_id", "check_id", "severity", "kind", "namespace", "name", "container",
                 "first_seen_at"))
    # Platform-managed findings are not the recipients' to fix and stay out of the criticals,
    # as they stay out of the score (the policy decides, as it does for the score). A week's
    # new criticals and highs are few, so they are read once and sorted out here.
    every_new = list(new)
    new_rows = [f for f in every_new if not policy.set_apart(f.kind, f.namespace, f.name)]
    counted = Counter(f.severity for f in new_rows)
    resolved = Finding.objects.filter(cluster_id__in=ids, resolved_at__gt=since,
                                      resolved_at__lte=until)
    top_resolved = resolved.annotate(rank=_severity_rank()).order_by("-rank", "-resolved_at", "pk")

    window = policy.eol_warning_days
    today = timezone.localtime(now).date()
    eol = [line for cluster in lines if cluster.cluster_id in current
           for line in _eol_lines(cluster, current[cluster.cluster_id], today, window)]
    return Digest(
        user=user, week=week_of(now), since=since, until=until, clusters=tuple(lines),
        new_counts=tuple((s, counted.get(s.value, 0)) for s in URGENT),
        baseline=Baseline(added_clusters=sum(1 for line in lines if line.added),
                          first_poll_findings=counts["first_poll"],
                          new_rules_findings=counts["new_rules"]),
        new_findings=tuple(_finding_line(f, names, f.first_seen_at)
                           for f in new_rows[:NEW_FINDINGS_SHOWN]),
        new_platform=len(every_new) - len(new_rows),
        resolved_count=resolved.count(),
        resolved=tuple(_finding_line(f, names, f.resolved_at or until)
                       for f in top_resolved[:RESOLVED_SHOWN]),
        acceptances=tuple(_acceptance_lines(ids, names, since, until)),
        eol=tuple(eol), eol_window_days=window,
        overview_url=absolute(reverse("home")),
        preferences_url=absolute(reverse("digest:preferences")),
        unsubscribe_url=absolute(reverse("digest:unsubscribe", args=[unsubscribe_token(user)])),
    )


# --- Preferences and unsubscribing ------------------------------------------------------------


def preference_of(user: User) -> DigestPreference:
    """Return ``user``'s preference; an unsaved default (on, every cluster) when none is kept."""
    return DigestPreference.objects.filter(user=user).first() or DigestPreference(user=user)


def save_preference(user: User, *, enabled: bool, clusters: Iterable[Cluster]) -> None:
    """Keep ``user``'s choice; clusters they may not see are dropped."""
    allowed = visible_clusters(user).filter(pk__in=[c.pk for c in clusters])
    with transaction.atomic():
        preference, _ = DigestPreference.objects.update_or_create(
            user=user, defaults={"enabled": enabled})
        preference.clusters.set(list(allowed))


def unsubscribe_token(user: User) -> str:
    """Return the signed token of ``user``'s unsubscribe link; it does not expire."""
    return signing.dumps(user.pk, salt=UNSUBSCRIBE_SALT)


def user_for_token(token: str) -> User | None:
    """Return the user an unsubscribe token names, or None when it is not genuine."""
    try:
        pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(pk, int) or isinstance(pk, bool):
        return None
    return User.objects.filter(pk=pk).first()


def unsubscribe(user: User) -> None:
    """Turn ``user``'s digest off."""
    DigestPreference.objects.update_or_create(user=user, defaults={"enabled": False})


# --- Sending ----------------------------------------------------------------------------------


def recipients(users: QuerySet[User] | None = None) -> QuerySet[User]:
    """Return the active users with an address whose digest is on (no preference kept: on)."""
    users = users if users is not None else User.objects.all()
    return (users.filter(is_active=True).exclude(email="")
            .filter(Q(digest_preference__isnull=True) | Q(digest_preference__enabled=True))
            .order_by("pk"))


def _claim(user: User, week: date, now: datetime) -> bool:
    """Take the (user, week) delivery; False when another run has it or it was sent."""
    try:
        # The unique constraint decides between racing runs: only one INSERT can succeed.
        with transaction.atomic():
            DigestDelivery.objects.create(user=user, week=week,
                                          status=DigestDelivery.Status.SENDING, claimed_at=now)
        return True
    except IntegrityError:
        pass
    # A failed send is taken back by a conditional UPDATE, so again only one run wins it.
    return DigestDelivery.objects.filter(
        user=user, week=week, status=DigestDelivery.Status.FAILED,
    ).update(status=DigestDelivery.Status.SENDING, claimed_at=now, error="") == 1


def _fail(user: User, week: date, exc: BaseException) -> None:
    DigestDelivery.objects.filter(user=user, week=week, status=DigestDelivery.Status.SENDING
                                  ).update(status=DigestDelivery.Status.FAILED,
                                           error=clip(f"{type(exc).__name__}: {exc}", 2000))


def deliver(user: User, now: datetime) -> bool:
    """Send ``user`` this week's digest unless it is sent, being sent, or was interrupted.

    The message is built before the claim so that the claimed window holds nothing but the
    exchange with the mail server.
    """
    week = week_of(now)
    status = (DigestDelivery.objects.filter(user=user, week=week)
              .values_list("status", flat=True).first())
    if status is not None and status != DigestDelivery.Status.FAILED:
        return False
    try:
        digest = build(user, now)
        message = digest.render() if digest is not None else None
    except Exception as exc:
        log.exception("building the digest for user %s failed", user.pk)
        if _claim(user, week, now):
            _fail(user, week, exc)
        return False
    if digest is None or message is None or not _claim(user, week, now):
        return False
    try:
        mail.send([user.email], message, digest.headers())
    except Exception as exc:
        log.warning("sending the digest to user %s failed: %s", user.pk, exc)
        _fail(user, week, exc)
        return False
    DigestDelivery.objects.filter(user=user, week=week).update(
        status=DigestDelivery.Status.SENT, sent_at=now, error="")
    return True


def mark_interrupted(now: datetime) -> int:
    """Note on this week's stale "sending" rows that they will not be retried; return how many."""
    return DigestDelivery.objects.filter(
        week=week_of(now), status=DigestDelivery.Status.SENDING,
        claimed_at__lt=now - STALE_CLAIM, error="",
    ).update(error=INTERRUPTED)


def failed_count(now: datetime) -> int:
    """Return how many of this week's deliveries failed and wait for another run."""
    return DigestDelivery.objects.filter(week=week_of(now),
                                         status=DigestDelivery.Status.FAILED).count()


def send_weekly(now: datetime | None = None, users: QuerySet[User] | None = None) -> int:
    """Send this week's digest to every recipient (or those of ``users``); return how many sent.

    Safe to run any number of times in a week: each recipient gets at most one digest, and
    the ones that failed are tried again.
    """
    # The one clock read: the scheduled task calls without ``now``.
    now = now or timezone.now()
    interrupted = mark_interrupted(now)
    if interrupted:
        log.warning("%d digest(s) were interrupted mid-send and will not be resent", interrupted)
    sent = sum(deliver(user, now) for user in recipients(users))
    log.info("weekly digest for %s: %d sent", week_of(now), sent)
    return sent
