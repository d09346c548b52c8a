"""What an alert says, written for each channel, and the one place alert webhooks are posted.

A ``Message`` is a list of segments: Posture's own words, and ``Untrusted`` values (cluster,
workload and check names, poll errors) that came from a cluster or a user. Each channel writes
untrusted values in its own safe form: hidden characters in their visible form
(``posture.checks.hidden.visible``) first, then the channel's markup escaped — Slack's mrkdwn
(``&``, ``<``, ``>``, and ``@`` so no ``@channel`` or ``<!here>`` can be formed), Teams'
Markdown (backslash before every markup character), HTML mail (Django's autoescaping in the
templates). Webhooks are plain HTTP POSTs through urllib3 rather than a notification library:
the payload must be exactly Slack's or Teams' format, the generic one must be signed over the
exact bytes sent, and redirects must never be followed (docs/alerts.md).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

from posture.checks.hidden import visible
from posture.domain import mail


@dataclass(frozen=True)
class Untrusted:
    """A value from a cluster or a user: shown, never interpreted."""

    text: str


Segment = str | Untrusted


@dataclass(frozen=True)
class Message:
    """One alert: a headline, detail lines, a link to the page that explains it."""

    headline: tuple[Segment, ...]
    lines: tuple[tuple[Segment, ...], ...] = ()
    url: str = ""
    # Exact values for the generic webhook's receivers (data, not display).
    data: dict[str, Any] = field(default_factory=dict)


# --- Plain text (email text part, subject, Slack's fallback) ----------------------------------


def plain(segments: tuple[Segment, ...]) -> str:
    """Return the segments as one line of text, untrusted values in their visible form."""
    return "".join(visible(s.text) if isinstance(s, Untrusted) else s for s in segments)


# --- Slack ------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Escape ``text`` for Slack mrkdwn: no link, mention or formatting can be formed.

    ``&``, ``<`` and ``>`` are the three characters Slack asks to escape (so ``<!channel>``
    and ``<@U123>`` arrive as text); ``@`` is followed by a word joiner so a bare ``@here``
    is never linked; the value is set in a code span with backticks turned into primes, so
    ``*bold*`` and ``_italic_`` stay as typed.
    """
    text = visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("@", "@\u2060").replace("`", "\u02cb")
    return f"`{text}`" if text else "``"


def _slack_text(segments: tuple[Segment, ...]) -> str:
    return "".join(slack_escape(s.text) if isinstance(s, Untrusted)
                   else s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                   for s in segments)


def slack_payload(message: Message) -> dict[str, Any]:
    """Return a Slack incoming-webhook body: ``text`` for notifications, blocks to show."""
    body = "\n".join(_slack_text(line) for line in message.lines)
    headline = _slack_text(message.headline)
    link = f"\n<{message.url}|Open in Posture>" if message.url else ""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}}]
    if body or link:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body + link}})
    return {"text": _slack_text(message.headline), "blocks": blocks,
            # Names are never turned into links or mentions.
            "link_names": False, "unfurl_links": False, "unfurl_media": False}


# --- Microsoft Teams ----------------------------------------------------------------------------

_TEAMS_MARKUP = set("\\`*_{}[]()<>#+-.!|~")


def teams_escape(text: str) -> str:
    """Escape ``text`` for an Adaptive Card TextBlock's Markdown: each markup character quoted."""
    return "".join("\\" + c if c in _TEAMS_MARKUP else c for c in visible(text))


def _teams_text(segments: tuple[Segment, ...]) -> str:
    return "".join(teams_escape(s.text) if isinstance(s, Untrusted) else s for s in segments)


def teams_payload(message: Message) -> dict[str, Any]:
    """Return a Teams incoming-webhook body: one Adaptive Card (schema 1.4)."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": _teams_text(message.headline), "weight": "Bolder",
         "size": "Medium", "wrap": True}]
    body += [{"type": "TextBlock", "text": _teams_text(line), "wrap": True}
             for line in message.lines]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard", "version": "1.4", "body": body}
    if message.url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Posture",
                            "url": message.url}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
         "content": card}]}


# --- Generic signed JSON ----------------------------------------------------------------------


def generic_payload(message: Message, delivery: str, kind: str,
                    occurred_at: datetime) -> dict[str, Any]:
    """Return the generic webhook's body: exact data, and a one-line text in visible form."""
    return {"delivery": delivery, "kind": kind, "occurred_at": occurred_at.isoformat(),
            "text": plain(message.headline), "url": message.url, "data": message.data}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return ``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``<timestamp>.<raw body>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


# --- Sending ----------------------------------------------------------------------------------


class SendError(Exception):
    """The channel did not take the message. ``retry`` says whether trying later may help."""

    def __init__(self, reason: str, *, retry: bool, after: float | None = None) -> None:
        super().__init__(reason)
        self.retry = retry
        self.after = after


def url_hint(url: str) -> str:
    """Return what may be shown of a webhook URL: its scheme and host, the rest elided."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def check_url(url: str) -> str | None:
    """Return why ``url`` cannot be a webhook, or None when it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "This is not a URL."
    allowed = ("https", "http") if settings.POSTURE_ALERT_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed:
        return "Use an https:// URL."
    if not parts.hostname:
        return "The URL has no host."
    if parts.username or parts.password:
        return "Put no user name or password in the URL."
    return None


def _refused_address(host: str, port: int) -> str | None:
    """Refuse link-local (cloud metadata) addresses, as the cluster connections do."""
    if settings.POSTURE_ALLOW_LINK_LOCAL:
        return None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        return None  # urllib3 reports the name that does not resolve
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_link_local:
            return "the webhook's host resolves to a link-local address"
    return None


_pool = urllib3.PoolManager(retries=False)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body`` to ``url``; return the status, or raise ``SendError``.

    The URL is a secret (a Slack or Teams URL is its own credential), so no error message
    carries it: a failure names the host only. Redirects are not followed.
    """
    problem = check_url(url)
    if problem:
        raise SendError(f"refused URL: {problem}", retry=False)
    parts = urlsplit(url)
    host = parts.hostname or ""
    refused = _refused_address(host, parts.port or (443 if parts.scheme == "https" else 80))
    if refused:
        raise SendError(refused, retry=False)
    timeout = urllib3.Timeout(connect=settings.POSTURE_ALERT_TIMEOUT_SECONDS,
                              read=settings.POSTURE_ALERT_TIMEOUT_SECONDS)
    try:
        response = _pool.request("POST", url, body=body, headers=headers, timeout=timeout,
                                 redirect=False, preload_content=False)
    except urllib3.exceptions.HTTPError as exc:
        # The exception's text holds the URL; only its class and the host are kept.
        raise SendError(f"{type(exc).__name__} talking to {host}", retry=True) from None
    try:
        response.read(64 * 1024, decode_content=False)
    except urllib3.exceptions.HTTPError:
        pass
    finally:
        response.release_conn()
    status = response.status
    if 200 <= status < 300:
        return status
    if status == 429 or status >= 500:
        after = response.headers.get("Retry-After", "")
        raise SendError(f"HTTP {status} from {host}", retry=True,
                        after=float(after) if after.isdigit() else None)
    raise SendError(f"HTTP {status} from {host}", retry=False)


def send_webhook(url: str, payload: dict[str, Any], delivery: str, secret: str = "",
                 now: datetime | None = None) -> int:
    """POST ``payload`` as JSON, with the delivery id (and, given a secret, the signature)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "Posture-Alerts/1", "X-Posture-Delivery": delivery}
    if secret:
        timestamp = str(int((now or datetime.now()).timestamp()))
        headers["X-Posture-Timestamp"] = timestamp
        headers["X-Posture-Signature"] = signature(secret, timestamp, body)
    return post(url, body, headers)


def _parts(segments: tuple[Segment, ...]) -> list[dict[str, Any]]:
    return [{"text": s.text, "untrusted": True} if isinstance(s, Untrusted)
            else {"text": s, "untrusted": False} for s in segments]


def send_email(to: str, message: Message, delivery: str, domain: str) -> None:
    """Send ``message`` by mail; its Message-ID is the delivery's, so a resend is one message."""
    rendered = mail.render("email/alert", {
        "message": message, "headline": plain(message.headline),
        "lines": [plain(line) for line in message.lines],
        # The HTML part shows untrusted parts through the ``untrusted`` filter.
        "html_headline": _parts(message.headline),
        "html_lines": [_parts(line) for line in message.lines]})
    mail.send([to], rendered, {"Message-ID": f"<alert.{delivery}@{domain}>",
                               "X-Posture-Delivery": delivery,
                               "Auto-Submitted": "auto-generated"})
