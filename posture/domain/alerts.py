"""Alerts: finding events, fanning them out to rules, and delivering the outbox exactly once.

Events come from two places: ``snapshot_recorded`` runs inside the transaction that records a
poll (a grade drop, new critical findings), and ``detect`` runs on a schedule (Kubernetes end
of life within a rule's days, polls failing for a rule's hours). Each event is stored once
under its natural key and gets one ``AlertDelivery`` per matching rule (a unique constraint).

``deliver_due`` claims a due delivery with a conditional UPDATE that must change exactly one
row — the same claim on PostgreSQL and SQLite, so two workers never send one row — and holds
it for ``POSTURE_ALERT_LEASE_SECONDS``. A worker that dies holding it leaves it claimable once
the lease runs out: the endpoint may then see the same ``X-Posture-Delivery`` twice, which is
why every message carries it (docs/alerts.md).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from clusters import vault
from clusters.access import can_register, is_security_team, sees_whole_fleet, visible_clusters
from clusters.models import Cluster
from posture.checks import CATALOG
from posture.checks.vocabulary import Severity
from posture.domain import alert_channels as channels
from posture.domain import audit
from posture.domain.alert_channels import Message, Untrusted
from posture.domain.alert_models import (
    THRESHOLD_UNITS,
    WEBHOOK_CHANNELS,
    AlertChannel,
    AlertDelivery,
    AlertEvent,
    AlertKind,
    AlertRule,
    DeliveryState,
)
from posture.domain.digest import absolute
from posture.domain.models import AuditEvent, Finding, Snapshot, SnapshotStatus
from posture.domain.scoring import Grade
from posture.lifecycle import SupportStatus, kubernetes_support

log = logging.getLogger(__name__)

# One poll cannot flood a channel: past this many new critical findings, one event says how many.
NEW_CRITICAL_EVENTS = 20
# The longest wait between two attempts, however many have failed.
MAX_BACKOFF = timedelta(hours=6)


# --- Rules ------------------------------------------------------------------------------------


def create_rule(actor: User, *, recipient: User, name: str, kind: str, threshold: int,
                channel: str, email: str = "", url: str = "",
                clusters: Iterable[Cluster] = ()) -> tuple[AlertRule, str]:
    """Create a rule and its audit row; return it and, for a generic webhook, its signing key.

    The key is returned once, to be shown once: only its sealed form is kept.
    """
    rule = AlertRule(recipient=recipient, name=name, kind=kind, threshold=threshold,
                     channel=channel, email=email if channel == AlertChannel.EMAIL else "")
    key = ""
    if channel in WEBHOOK_CHANNELS:
        rule.url_sealed = vault.seal(url)
        rule.url_hint = channels.url_hint(url)
    if channel == AlertChannel.WEBHOOK:
        key = secrets.token_urlsafe(32)
        rule.secret_sealed = vault.seal(key)
    with transaction.atomic():
        rule.save()
        rule.clusters.set(visible_clusters(recipient).filter(pk__in=[c.pk for c in clusters]))
        audit.record(AuditEvent.Action.ALERT_RULE_CREATE, actor=actor, target=name,
                     detail=_audit_detail(rule))
    return rule, key


def change_rule(actor: User, rule: AlertRule, *, name: str, threshold: int, enabled: bool,
                email: str | None = None, url: str = "",
                clusters: Iterable[Cluster] = ()) -> AlertRule:
    """Change a rule's name, threshold, scope, address or URL (blank: kept), or switch it."""
    rule.name, rule.threshold, rule.enabled = name, threshold, enabled
    if rule.channel == AlertChannel.EMAIL and email is not None:
        rule.email = email
    if url and rule.channel in WEBHOOK_CHANNELS:
        rule.url_sealed = vault.seal(url)
        rule.url_hint = channels.url_hint(url)
    with transaction.atomic():
        rule.save()
        rule.clusters.set(visible_clusters(rule.recipient)
                          .filter(pk__in=[c.pk for c in clusters]))
        audit.record(AuditEvent.Action.ALERT_RULE_CHANGE, actor=actor, target=name,
                     detail={**_audit_detail(rule), "url_replaced": bool(url)})
    return rule


def _audit_detail(rule: AlertRule) -> dict[str, Any]:
    # Never the URL or key: the host is what the rules page shows too.
    return {"rule": rule.pk, "kind": rule.kind, "threshold": rule.threshold,
            "channel": rule.channel, "destination": rule.destination,
            "recipient": rule.recipient.get_username(), "enabled": rule.enabled}


def _in_scope(rule: AlertRule, cluster_id: int) -> bool:
    if not rule.recipient.is_active:
        return False
    chosen = [c.pk for c in rule.clusters.all()]
    if chosen and cluster_id not in chosen:
        return False
    return visible_clusters(rule.recipient).filter(pk=cluster_id).exists()


def fan_out(event: AlertEvent, now: datetime) -> int:
    """Queue one delivery per enabled rule that wants ``event``; return how many are new."""
    rules = AlertRule.objects.filter(enabled=True, kind=event.kind).select_related("recipient")
    if event.kind in THRESHOLD_UNITS:
        rules = rules.filter(threshold=event.threshold)
    wanted = [rule for rule in rules.prefetch_related("clusters")
              if _in_scope(rule, event.cluster_id)]
    if not wanted:
        return 0
    before = AlertDelivery.objects.filter(event=event).count()
    # The (rule, event) constraint makes a second fan-out of the same event a no-op.
    AlertDelivery.objects.bulk_create(
        [AlertDelivery(rule=rule, event=event, created_at=now, next_attempt_at=now)
         for rule in wanted], ignore_conflicts=True)
    return AlertDelivery.objects.filter(event=event).count() - before


def _event(cluster_id: int, kind: str, key: str, at: datetime, detail: dict[str, Any],
           threshold: int = 0) -> AlertEvent:
    event, _ = AlertEvent.objects.get_or_create(
        cluster_id=cluster_id, kind=kind, key=key[:200],
        defaults={"occurred_at": at, "detail": detail, "threshold": threshold})
    return event


# --- Events from a poll -----------------------------------------------------------------------


def _workload(finding: Finding) -> str:
    if finding.kind == "Cluster":
        return "the cluster"
    where = "/".join(p for p in (finding.namespace, finding.name) if p)
    text = f"{finding.kind} {where}".strip()
    return text + (f" (container {finding.container})" if finding.container else "")


def snapshot_recorded(snapshot: Snapshot, previous: Snapshot | None) -> int:
    """Record the events a successful poll reveals and queue their deliveries; return how many.

    Runs inside the snapshot's transaction, so events exist exactly when the snapshot does.
    A first poll, or the first under a new check set, is a baseline: its findings are not news.
    """
    if previous is None:
        return 0
    now = snapshot.finished_at or snapshot.taken_at
    events = []
    before, after = _grade(previous.grade), _grade(snapshot.grade)
    if before is not None and after is not None and after.rank < before.rank:
        events.append(_event(snapshot.cluster_id, AlertKind.GRADE_DROPPED,
                             f"snapshot:{snapshot.pk}", now,
                             {"from": before.value, "to": after.value,
                              "score": round(snapshot.score or 0), "snapshot": snapshot.pk}))
    if previous.checkset_version == snapshot.checkset_version:
        new = list(Finding.objects.filter(first_seen=snapshot, severity=Severity.CRITICAL)
                   .order_by("pk")[:NEW_CRITICAL_EVENTS + 1])
        for finding in new[:NEW_CRITICAL_EVENTS]:
            check = CATALOG.get(finding.check_id)
            events.append(_event(snapshot.cluster_id, AlertKind.NEW_CRITICAL,
                                 f"finding:{finding.pk}", now,
                                 {"finding": finding.pk, "check_id": finding.check_id,
                                  "title": check.title if check else finding.check_id,
                                  "workload": _workload(finding)}))
        if len(new) > NEW_CRITICAL_EVENTS:
            more = Finding.objects.filter(first_seen=snapshot,
                                          severity=Severity.CRITICAL).count()
            events.append(_event(snapshot.cluster_id, AlertKind.NEW_CRITICAL,
                                 f"snapshot:{snapshot.pk}:more", now,
                                 {"more": more - NEW_CRITICAL_EVENTS}))
    queued = sum(fan_out(event, now) for event in events)
    if queued:
        transaction.on_commit(_wake_deliverer)
    return queued


def _wake_deliverer() -> None:
    """Ask a worker to deliver now rather than at the next tick (the tick delivers anyway)."""
    try:
        from posture.domain.tasks import deliver_alerts

        deliver_alerts.delay()
    except Exception:  # the broker is down: the beat tick delivers when it is back
        log.warning("could not enqueue alert delivery; the next tick will deliver",
                    exc_info=True)


def _grade(value: str) -> Grade | None:
    try:
        return Grade(value)
    except ValueError:
        return None


# --- Events found on a schedule ---------------------------------------------------------------


def detect(now: datetime | None = None) -> int:
    """Record end-of-life and failing-poll events for the thresholds rules ask; queue them."""
    now = now or timezone.now()
    rules = AlertRule.objects.filter(enabled=True)
    eol_days = set(rules.filter(kind=AlertKind.EOL_SOON).values_list("threshold", flat=True))
    failing_hours = set(rules.filter(kind=AlertKind.POLL_FAILING)
                        .values_list("threshold", flat=True))
    queued = 0
    if eol_days:
        queued += _detect_eol(now, sorted(eol_days))
    if failing_hours:
        queued += _detect_failing(now, sorted(failing_hours))
    return queued


def _detect_eol(now: datetime, windows: list[int]) -> int:
    today = timezone.localtime(now).date()
    queued = 0
    for cluster in Cluster.objects.only("pk"):
        snapshot = Snapshot.objects.latest_successful(cluster, detail=False)
        if snapshot is None:
            continue
        support = kubernetes_support(snapshot.kubernetes_version or None, today,
                                     snapshot.provider or None)
        if support.status is SupportStatus.UNKNOWN:
            continue
        past = support.status in (SupportStatus.EOL, SupportStatus.EXTENDED)
        for days in windows:
            if not past and (support.days_left is None or support.days_left > days):
                continue
            event = _event(cluster.pk, AlertKind.EOL_SOON,
                           f"{support.cycle}:{support.eol}:within:{days}", now,
                           {"cycle": str(support.cycle), "eol": str(support.eol or ""),
                            "days_left": support.days_left, "status": str(support.status)},
                           threshold=days)
            queued += fan_out(event, now)
    return queued


def _detect_failing(now: datetime, windows: list[int]) -> int:
    queued = 0
    for cluster in Cluster.objects.only("pk"):
        finished = (Snapshot.objects.filter(cluster=cluster)
                    .exclude(status=SnapshotStatus.RUNNING).order_by("-taken_at"))
        last = finished.only("status", "error").first()
        if last is None or last.status != SnapshotStatus.FAILED:
            continue
        good = Snapshot.objects.successful_of(cluster).values_list("taken_at", flat=True).first()
        streak = finished.filter(status=SnapshotStatus.FAILED)
        if good is not None:
            streak = streak.filter(taken_at__gt=good)
        first = streak.order_by("taken_at").only("pk", "taken_at").first()
        if first is None:
            continue
        for hours in windows:
            if now - first.taken_at < timedelta(hours=hours):
                continue
            event = _event(cluster.pk, AlertKind.POLL_FAILING,
                           f"since:{first.pk}:for:{hours}", now,
                           {"since": first.taken_at.isoformat(), "hours": hours,
                            "error": last.error[:300]}, threshold=hours)
            queued += fan_out(event, now)
    return queued


# --- What a delivery says ---------------------------------------------------------------------


def message_for(event: AlertEvent) -> Message:
    """Return the message about ``event``: Posture's words, the cluster's text marked untrusted."""
    d = event.detail
    name = Untrusted(event.cluster.name)
    url = absolute(reverse("clusters:detail", args=[event.cluster_id]))
    data: dict[str, Any] = {"cluster": {"id": event.cluster_id, "name": event.cluster.name},
                            **d}
    if event.kind == AlertKind.GRADE_DROPPED:
        return Message((name, f": grade dropped from {d['from']} to {d['to']}"),
                       ((f"Score {d['score']}.",),), url, data)
    if event.kind == AlertKind.NEW_CRITICAL and "more" in d:
        return Message((name, f": {d['more']} more new critical findings"), (), url, data)
    if event.kind == AlertKind.NEW_CRITICAL:
        url = absolute(reverse("finding", args=[d["finding"]]))
        return Message((name, ": new critical finding"),
                       ((Untrusted(d["title"]), " on ", Untrusted(d["workload"])),
                        ("Check ", Untrusted(d["check_id"]), ".")), url, data)
    if event.kind == AlertKind.EOL_SOON:
        if d["status"] in (SupportStatus.EOL, SupportStatus.EXTENDED):
            what = f"Kubernetes {d['cycle']} is past end of life"
        else:
            what = f"Kubernetes {d['cycle']} reaches end of life in {d['days_left']} days"
        return Message((name, f": {what}"), ((f"End of life: {d['eol'] or 'unknown'}.",),),
                       url, data)
    return Message((name, f": polls failing for {d['hours']} hours"),
                   ((f"Failing since {d['since']}. Last error: ", Untrusted(d["error"])),),
                   url, data)


# --- Delivering -------------------------------------------------------------------------------


def _due(now: datetime) -> Q:
    return (Q(state=DeliveryState.PENDING, next_attempt_at__lte=now)
            | Q(state=DeliveryState.SENDING, lease_until__lte=now))


def claim(pk: int, now: datetime) -> str | None:
    """Take delivery ``pk`` for one attempt; return the lease id, or None when not ours."""
    lease = str(uuid.uuid4())
    taken = AlertDelivery.objects.filter(_due(now), pk=pk).update(
        state=DeliveryState.SENDING, lease_id=lease, attempts=F("attempts") + 1,
        lease_until=now + timedelta(seconds=settings.POSTURE_ALERT_LEASE_SECONDS))
    return lease if taken == 1 else None


def backoff(attempts: int) -> timedelta:
    """Return the wait after ``attempts`` failed attempts: doubling from the first retry."""
    wait = timedelta(seconds=settings.POSTURE_ALERT_RETRY_SECONDS * 2 ** (attempts - 1))
    return min(wait, MAX_BACKOFF)


def _send(delivery: AlertDelivery, now: datetime) -> None:
    rule, event = delivery.rule, delivery.event
    message = message_for(event)
    uid = str(delivery.uid)
    if rule.channel == AlertChannel.EMAIL:
        domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "posture.invalid"
        to = rule.email or rule.recipient.email
        if not to:
            raise channels.SendError("the recipient has no email address", retry=False)
        channels.send_email(to, message, uid, domain)
        return
    url = vault.unseal(rule.url_sealed)
    if rule.channel == AlertChannel.SLACK:
        payload = channels.slack_payload(message)
    elif rule.channel == AlertChannel.TEAMS:
        payload = channels.teams_payload(message)
    else:
        payload = channels.generic_payload(message, uid, event.kind, event.occurred_at)
    key = vault.unseal(rule.secret_sealed) if rule.channel == AlertChannel.WEBHOOK else ""
    channels.send_webhook(url, payload, uid, key, now)


def attempt(pk: int, now: datetime | None = None) -> bool:
    """Claim delivery ``pk``, send it and record the outcome; return True when it was sent."""
    now = now or timezone.now()
    lease = claim(pk, now)
    if lease is None:
        return False
    delivery = AlertDelivery.objects.select_related("rule__recipient", "event__cluster").get(pk=pk)
    mine = AlertDelivery.objects.filter(pk=pk, lease_id=lease, state=DeliveryState.SENDING)
    try:
        _send(delivery, now)
    except Exception as exc:
        retry = exc.retry if isinstance(exc, channels.SendError) else not isinstance(
            exc, vault.VaultError)
        # SendError's text names the host and status only; other errors by class, since an
        # exception from deep in a client may quote the URL.
        reason = str(exc) if isinstance(exc, channels.SendError) else type(exc).__name__
        out_of_attempts = delivery.attempts >= settings.POSTURE_ALERT_MAX_ATTEMPTS
        if retry and not out_of_attempts:
            wait = backoff(delivery.attempts)
            after = getattr(exc, "after", None)
            if after:
                wait = max(wait, timedelta(seconds=min(after, MAX_BACKOFF.total_seconds())))
            mine.update(state=DeliveryState.PENDING, next_attempt_at=now + wait,
                        lease_until=None, last_error=reason[:500])
        else:
            mine.update(state=DeliveryState.FAILED, next_attempt_at=None, lease_until=None,
                        last_error=reason[:500])
        log.warning("alert delivery %s failed (attempt %d): %s", delivery.uid,
                    delivery.attempts, reason)
        return False
    mine.update(state=DeliveryState.SENT, sent_at=timezone.now(), lease_until=None,
                next_attempt_at=None, last_error="")
    return True


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """Attempt every delivery due at ``now`` (at most ``limit``); return how many were sent."""
    now = now or timezone.now()
    due = list(AlertDelivery.objects.filter(_due(now)).order_by("next_attempt_at", "pk")
               .values_list("pk", flat=True)[:limit])
    return sum(attempt(pk, now) for pk in due)


# --- Who sees which rules and deliveries ------------------------------------------------------


def visible_rules(user: User) -> Any:
    """Return the rules ``user`` may see: every rule for the security team and auditors, else
    their own."""
    rules = AlertRule.objects.select_related("recipient").order_by("name", "pk")
    return rules if sees_whole_fleet(user) else rules.filter(recipient=user)


def can_change_rule(user: User, rule: AlertRule) -> bool:
    """The security team changes any rule; others their own (auditors none)."""
    if is_security_team(user):
        return True
    return rule.recipient_id == user.pk and can_register(user)


def visible_deliveries(user: User) -> Any:
    """Return the outbox rows ``user`` may see: all for the fleet-wide roles, else those of
    their own rules about clusters they may still see."""
    rows = AlertDelivery.objects.select_related("rule", "event__cluster").order_by(
        "-created_at", "-pk")
    if sees_whole_fleet(user):
        return rows
    return rows.filter(rule__recipient=user,
                       event__cluster__in=visible_clusters(user).values("pk"))
