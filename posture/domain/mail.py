"""Outgoing mail: the one module that renders and sends email, through Django's configured backend.

Every message has a plain-text part and an HTML alternative, rendered from three templates named
after it (``<name>_subject.txt``, ``<name>.txt``, ``<name>.html``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    """The backend did not take the message."""


@dataclass(frozen=True)
class Rendered:
    """A message's three texts, ready to send."""

    subject: str
    text: str
    html: str


def render(name: str, context: Mapping[str, Any]) -> Rendered:
    """Render ``templates/<name>_subject.txt``, ``<name>.txt`` and ``<name>.html``."""
    subject = render_to_string(f"{name}_subject.txt", dict(context))
    return Rendered(
        # A header is one line: a newline in the subject would be refused by Django anyway.
        subject=" ".join(subject.split()),
        text=render_to_string(f"{name}.txt", dict(context)),
        html=render_to_string(f"{name}.html", dict(context)),
    )


def build(to: Sequence[str], message: Rendered,
          headers: Mapping[str, str] | None = None) -> EmailMultiAlternatives:
    """Return the MIME message: text first, HTML as the preferred alternative."""
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.text, from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to), headers=dict(headers or {}),
    )
    email.attach_alternative(message.html, "text/html")
    return email


def send(to: Sequence[str], message: Rendered, headers: Mapping[str, str] | None = None) -> None:
    """Send one message now; raise when the backend does not accept it.

    The connection is opened here so that closing it is ours: once the server has accepted the
    message, an error while saying goodbye must not be reported as a failed send (the caller
    would try again and the recipient would get it twice).
    """
    email = build(to, message, headers)
    connection = get_connection(fail_silently=False)
    connection.open()
    try:
        accepted = connection.send_messages([email])
    finally:
        try:
            connection.close()
        except Exception:  # the message's fate is already decided
            log.warning("closing the mail connection failed", exc_info=True)
    if accepted != 1:
        raise MailError("the mail backend did not accept the message")
