"""``manage.py send_digest``: send this week's digest now, or print it without sending."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from posture.domain import digest


def _moment(text: str | None) -> datetime:
    if not text:
        return timezone.now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--now {text!r} is not an ISO 8601 date and time") from None
    # A time without an offset is read in TIME_ZONE, as the schedule is.
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = ("Send this week's digest to every recipient (or one user) through the same "
            "exactly-once path as the schedule, or print it with --dry-run.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="print the subject and text part; send and record nothing")
        parser.add_argument("--user", metavar="USERNAME", help="only this user")
        parser.add_argument("--now", metavar="ISO",
                            help="pretend it is this moment (e.g. 2026-11-30T07:00)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = _moment(options["now"])
        users = None
        if options["user"]:
            users = get_user_model().objects.filter(username=options["user"])
            if not users.exists():
                raise CommandError(f"no user {options['user']!r}")
        if options["dry_run"]:
            self._preview(users if users is not None else digest.recipients(), now)
            return
        sent = digest.send_weekly(now, users=users)
        self.stdout.write(f"{sent} digest(s) sent for the week of {digest.week_of(now)}.")

    def _preview(self, users: Any, now: datetime) -> None:
        recipients = set(digest.recipients(users).values_list("pk", flat=True))
        for user in users.order_by("pk"):
            built = digest.build(user, now)
            if user.pk not in recipients:
                self.stdout.write(f"# {user.get_username()} would not receive it "
                                  "(digest off, no address, or inactive).")
            if built is None:
                self.stdout.write(f"# {user.get_username()}: no clusters to report.")
                continue
            message = built.render()
            self.stdout.write(f"To: {user.email}\nSubject: {message.subject}\n\n{message.text}")
