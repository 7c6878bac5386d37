"""python manage.py train_match_rule --domain D [--method ecm|labels] — estimate a match
rule's parameters and save them as a new version."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mdm.core.domains import DOMAINS
from mdm.core.errors import MDMError
from mdm.core.middleware import set_request_id
from mdm.matching.services import ECM, LABELS, match_rule_train


class Command(BaseCommand):
    help = ("Estimate a domain's match parameters: m/u from the data with ECM (default), "
            "or logistic regression from stewards' decisions.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--domain", required=True, choices=list(DOMAINS))
        parser.add_argument("--method", choices=[ECM, LABELS], default=ECM)
        parser.add_argument("--max-pairs", type=int, default=200_000)

    def handle(self, *args: Any, **options: Any) -> None:
        set_request_id()
        try:
            rule = match_rule_train(domain=options["domain"], method=options["method"],
                                    max_pairs=options["max_pairs"])
        except MDMError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(f"{rule.domain} match rule v{rule.version}: {rule.trained_on}")
