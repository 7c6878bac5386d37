"""python manage.py export_golden --domain DOMAIN --format csv|jsonl [--with-sources]"""

from __future__ import annotations

import csv
import json
import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandParser

from mdm.core.domains import DOMAINS
from mdm.golden.selectors import golden_export_rows


class Command(BaseCommand):
    help = "Write golden records as CSV or JSON Lines (to stdout, or --output FILE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--domain", required=True, choices=sorted(DOMAINS))
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
        parser.add_argument("--with-sources", action="store_true",
                            help="one row per source record: golden_id, source, source_key, ...")
        parser.add_argument("--status", default="active",
                            choices=["active", "merged", "retired", "all"])
        parser.add_argument("--output", help="file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        status = "" if options["status"] == "all" else options["status"]
        header, rows = golden_export_rows(domain=options["domain"], status=status,
                                          with_sources=options["with_sources"])
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                count = self._write(out, options["format"], header, rows)
            self.stderr.write(f"{count} rows written to {options['output']}")
        else:
            self._write(sys.stdout, options["format"], header, rows)

    def _write(self, out: TextIO, fmt: str, header: list[str], rows: Any) -> int:
        count = 0
        writer = csv.writer(out) if fmt == "csv" else None
        if writer:
            writer.writerow(header)
        for row in rows:
            if writer:
                writer.writerow([_cell(v) for v in row])
            else:
                record = dict(zip(header, row, strict=True))
                out.write(json.dumps(record, ensure_ascii=False, default=str))
                out.write("\n")
            count += 1
        return count


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v)
                         for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value
