"""python manage.py import_feed --source CODE --domain DOMAIN FILE"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from connectors import ConnectorError
from connectors.feed_files import read_feed
from mdm.core.domains import DOMAINS
from mdm.core.errors import MDMError
from mdm.core.middleware import set_request_id
from mdm.sources.models import SourceSystem
from mdm.sources.services import FeedSummary, source_feed_ingest

SHOWN_PROBLEMS = 50


class Command(BaseCommand):
    help = ("Import a CSV or JSON Lines feed of one source system. Columns are mapped by the "
            "source's field mappings. Exit 0: all imported; 1: some lines rejected or "
            "quarantined (listed with line numbers); 2: nothing could be read.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV (UTF-8, UTF-8 with BOM, GB18030) or JSONL file")
        parser.add_argument("--source", required=True, help="source system code, e.g. crm")
        parser.add_argument("--domain", required=True, choices=sorted(DOMAINS))
        parser.add_argument("--format", choices=["csv", "jsonl"], help="default: by extension")
        parser.add_argument("--encoding", help="force an encoding (default: detected)")
        parser.add_argument("--chunk-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        set_request_id()
        path = Path(options["file"])
        source = SourceSystem.objects.filter(code=options["source"]).first()
        if source is None:
            raise CommandError(f"unknown source system '{options['source']}'", returncode=2)
        if not path.is_file():
            raise CommandError(f"{path}: no such file", returncode=2)
        try:
            rows = read_feed(path, fmt=options["format"], encoding=options["encoding"])
            summary = self._ingest(source, options, rows, path)
        except (ConnectorError, MDMError) as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from exc
        self._report(summary, path)

    def _ingest(self, source: SourceSystem, options: dict, rows: Any, path: Path) -> FeedSummary:
        with tqdm(desc=path.name, unit=" rec", disable=not sys.stderr.isatty(),
                  file=sys.stderr) as bar:
            return source_feed_ingest(source=source, domain=options["domain"], rows=rows,
                                      channel="file", origin=str(path),
                                      chunk_size=options["chunk_size"], on_progress=bar.update)

    def _report(self, summary: FeedSummary, path: Path) -> None:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(summary.counts.items()))
        self.stdout.write(f"{path.name}: {counts or 'no records'} (batch {summary.batch.pk})")
        for problem in summary.problems[:SHOWN_PROBLEMS]:
            key = f" [{problem['source_key']}]" if problem.get("source_key") else ""
            self.stderr.write(f"line {problem['line']}{key}: {problem['message']}")
        if len(summary.problems) > SHOWN_PROBLEMS:
            self.stderr.write(f"... and {len(summary.problems) - SHOWN_PROBLEMS} more "
                              f"(see batch {summary.batch.pk} in the admin)")
        if summary.problems:
            raise CommandError(f"{len(summary.problems)} of {sum(summary.counts.values())} "
                               f"records were not applied", returncode=1)
