"""``manage.py create_api_token --user U --name N``: print a new API token (shown only once)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from posture.web.api.auth import create_token


class Command(BaseCommand):
    help = "Create a read-only API token for a user; it sees what the user sees."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True)
        parser.add_argument("--name", required=True, help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get_by_natural_key(options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {options['user']!r}.") from None
        _, token = create_token(user, options["name"])
        self.stdout.write(token)
