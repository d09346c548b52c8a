"""``manage.py register_cluster``: register a cluster from a kubeconfig file."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clusters.kubeconfig import MAX_BYTES
from clusters.registration import RegistrationError, read_credentials, register


class Command(BaseCommand):
    help = "Register a cluster; print its id. Refusals print one line and exit non-zero."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--kubeconfig", required=True, help="path, or - for standard input")
        parser.add_argument("--context", default=None)
        parser.add_argument("--owner", default=None, help="user name of the owner")
        parser.add_argument("--interval", type=int, default=None, help="poll interval, minutes")
        parser.add_argument("--verify", action="store_true",
                            help="call the cluster's /version first and refuse on failure")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = None
        if options["owner"]:
            try:
                owner = get_user_model().objects.get_by_natural_key(options["owner"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {options['owner']!r}.") from None
        text = self._read(options["kubeconfig"])
        try:
            creds = read_credentials(text, options["context"])
            done = register(name=options["name"], creds=creds, owner=owner,
                            poll_interval_minutes=options["interval"], verify=options["verify"],
                            via="manage.py register_cluster")
        except RegistrationError as exc:
            raise CommandError(str(exc)) from None
        if done.verified is not None:
            self.stderr.write(f"verified: Kubernetes {done.verified.version}")
        self.stdout.write(str(done.cluster.pk))

    def _read(self, path: str) -> bytes:
        import sys

        try:
            if path == "-":
                data = sys.stdin.buffer.read(MAX_BYTES + 1)
            else:
                with open(path, "rb") as handle:
                    data = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from None
        return data
