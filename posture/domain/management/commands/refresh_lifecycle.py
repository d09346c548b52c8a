"""``manage.py refresh_lifecycle``: update the lifecycle tables from the endoflife.date API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from posture.lifecycle.refresh import DATA_DIR, DEFAULT_BASE_URL, DEFAULT_TIMEOUT, refresh


class Command(BaseCommand):
    help = (
        "Fetch current release cycles from endoflife.date and merge them into the lifecycle "
        "data: dates and latest patches updated, new cycles added, nothing deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="API v1 root URL.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the changes without writing them."
        )
        parser.add_argument(
            "--product",
            dest="products",
            action="extend",
            nargs="+",
            default=[],
            metavar="SLUG",
            help="Refresh only these products (data name or endoflife.date slug).",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT,
            help=f"Seconds to wait for each product (default {DEFAULT_TIMEOUT:g}).",
        )
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=DATA_DIR,
            help="Folder holding the data files (default: the shipped tables).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = refresh(
                timezone.localdate(),
                data_dir=options["data_dir"],
                base_url=options["base_url"],
                products=options["products"],
                dry_run=options["dry_run"],
                timeout=options["timeout"],
            )
        except (ValueError, OSError) as error:
            raise CommandError(str(error)) from None
        for line in report.changes:
            self.stdout.write(line)
        if not report.changes:
            self.stdout.write("No changes.")
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing written.")
        elif report.written:
            self.stdout.write(f"Wrote {', '.join(report.written)}.")
        if report.by_hand and not options["products"]:
            self.stdout.write(
                f"No refresh URL in the data, review by hand: {', '.join(report.by_hand)}."
            )
        for failure in report.errors:
            self.stderr.write(failure)
        if report.errors:
            raise CommandError(
                f"{len(report.errors)} product(s) not refreshed; their data is unchanged."
            )
