"""python manage.py sync_source CODE — pull changes through the source's connector."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mdm.core.errors import MDMError
from mdm.core.middleware import set_request_id
from mdm.sources.models import SourceSystem
from mdm.sources.services import source_pull


class Command(BaseCommand):
    help = "Pull records changed since the stored cursor from a source's connector."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="source system code")
        parser.add_argument("--from-start", action="store_true",
                            help="ignore the stored cursor and pull everything")

    def handle(self, *args: Any, **options: Any) -> None:
        set_request_id()
        source = SourceSystem.objects.filter(code=options["code"]).first()
        if source is None:
            raise CommandError(f"unknown source system '{options['code']}'", returncode=2)
        try:
            summary = source_pull(source=source, from_start=options["from_start"])
        except MDMError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(summary.counts.items()))
        self.stdout.write(f"{source.code}: {counts or 'no changes'}; cursor "
                          f"{source.pull_cursor or '-'}")
        for problem in summary.problems[:50]:
            self.stderr.write(f"line {problem['line']}: {problem['message']}")
