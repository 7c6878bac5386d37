"""python manage.py mdm_demo — load the demo sources, records and logins."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from mdm.core.errors import MDMError
from mdm.core.middleware import set_request_id
from mdm.demo.services import demo_load
from mdm.golden.schema import GOLDEN_MODELS
from mdm.sources.selectors import quarantined_records


class Command(BaseCommand):
    help = ("Load a realistic demo: a Chinese-first CRM, a pinyin/English ERP and a shop, with "
            "duplicates across and within sources, products, contracts and code mappings. "
            "Safe to run again (re-sent records are unchanged).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--products", type=int, default=200)
        parser.add_argument("--contracts", type=int, default=600)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--no-users", action="store_true",
                            help="do not create the demo logins admin/admin, steward/steward")

    def handle(self, *args: Any, **options: Any) -> None:
        set_request_id()
        with tqdm(desc="demo records", unit=" rec", disable=not sys.stderr.isatty(),
                  file=sys.stderr) as bar:
            try:
                summary = demo_load(seed=options["seed"], customers=options["customers"],
                                    products=options["products"],
                                    contracts=options["contracts"],
                                    with_users=not options["no_users"], on_progress=bar.update)
            except MDMError as exc:
                raise CommandError(exc.message) from exc
        for source, counts in summary.counts.items():
            line = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
            self.stdout.write(f"{source}: {line}")
        golden = ", ".join(f"{model.objects.filter(status='active').count()} {domain}"
                           for domain, model in GOLDEN_MODELS.items())
        self.stdout.write(f"golden records: {golden}; quarantined source records: "
                          f"{quarantined_records().count()}")
        for subscription in summary.subscriptions:
            self.stdout.write(f"{subscription.subscriber.code} pulls changes: GET /api/v1/"
                              f"subscriptions/{subscription.pk}/changes/ (with its key)")
        self.stdout.write("API keys (Authorization: Token <key>):")
        for source, key in summary.api_keys.items():
            self.stdout.write(f"  {source}: {key}")
        if summary.users:
            self.stdout.write("Demo logins: " + ", ".join(f"{u}/{p}" for u, p in summary.users)
                              + "  (stewards: http://127.0.0.1:8000/, admin: "
                              "http://127.0.0.1:8000/admin/, API docs: "
                              "http://127.0.0.1:8000/api/docs/)")
