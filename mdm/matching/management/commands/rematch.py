"""python manage.py rematch --domain D [--dry-run] — re-match a domain under its current
rule, as Celery tasks partitioned by blocking key; prints the report."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mdm.core.domains import DOMAINS
from mdm.core.errors import MDMError
from mdm.core.middleware import set_request_id
from mdm.matching.models import RematchRun
from mdm.matching.rematch import rematch_start


class Command(BaseCommand):
    help = ("Score every candidate pair of a domain again and regroup its golden records; "
            "--dry-run only reports which would merge or split.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--domain", required=True, choices=list(DOMAINS))
        parser.add_argument("--dry-run", action="store_true",
                            help="report what would merge or split; change nothing")
        parser.add_argument("--partitions", type=int, default=4,
                            help="tasks to split the blocking keys over (default 4)")
        parser.add_argument("--wait", type=float, default=3600,
                            help="seconds to wait for the workers (default 3600)")
        parser.add_argument("--json", action="store_true", help="print the run as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        set_request_id()
        try:
            run = rematch_start(domain=options["domain"], dry_run=options["dry_run"],
                                partitions=options["partitions"])
        except MDMError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        deadline = time.monotonic() + options["wait"]
        run.refresh_from_db()
        while run.status == RematchRun.Status.RUNNING and time.monotonic() < deadline:
            time.sleep(0.5)
            run.refresh_from_db()
        if options["json"]:
            self.stdout.write(json.dumps({"id": run.pk, "status": run.status,
                                          "dry_run": run.dry_run, "error": run.error,
                                          **run.report}, ensure_ascii=False, default=str))
        else:
            self._summary(run)
        if run.status != RematchRun.Status.DONE:
            raise CommandError(f"re-match run {run.pk} is {run.status}"
                               + (f": {run.error}" if run.error else
                                  " (still running: are the workers up?)"), returncode=1)

    def _summary(self, run: RematchRun) -> None:
        report = run.report
        verb = "would" if run.dry_run else "did"
        mode = "dry run" if run.dry_run else "applied"
        self.stdout.write(
            f"re-match {run.domain} under rule v{run.rule_version} ({mode}): "
            f"{report.get('records', 0)} records, {report.get('golden_records_before', 0)} → "
            f"{report.get('golden_records_after', 0)} golden records; "
            f"{report.get('would_merge', 0)} {verb} merge, {report.get('would_split', 0)} "
            f"{verb} split, {report.get('links_review', 0)} pairs for review")
        for merge in report.get("merges", [])[:20]:
            self.stdout.write(f"  merge {' + '.join(merge['golden_ids'])}")
        for split in report.get("splits", [])[:20]:
            self.stdout.write(f"  split {split['golden_id']} into {split['into']}")
