"""``manage.py ensure_demo_user``: create (or reset) the demo login, a security-team member."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create the demo user (security team, administers everything) with a known password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="posture-demo")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.contrib.auth.models import Group

        from clusters.access import SECURITY_TEAM

        user, _ = get_user_model().objects.get_or_create(username=options["username"])
        user.email = user.email or f"{options['username']}@example.test"
        user.is_staff = True
        user.is_superuser = True
        user.set_password(options["password"])
        user.save()
        user.groups.add(Group.objects.get_or_create(name=SECURITY_TEAM)[0])
        self.stdout.write(f"login: {options['username']} / {options['password']}")
