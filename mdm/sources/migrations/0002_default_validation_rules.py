"""Ship the rules every hub needs: names, keys, and contract → customer references."""

from django.db import migrations

DEFAULT_RULES = [
    ("customer", "name", "required", {}),
    ("product", "sku", "required", {}),
    ("contract", "contract_number", "required", {}),
    ("contract", "customer_ref", "reference_exists", {"domain": "customer"}),
]


def add_rules(apps, schema_editor):
    rule_model = apps.get_model("sources", "ValidationRule")
    for domain, attribute, rule, params in DEFAULT_RULES:
        rule_model.objects.get_or_create(domain=domain, attribute=attribute, rule=rule,
                                         source=None, defaults={"params": params})


def remove_rules(apps, schema_editor):
    rule_model = apps.get_model("sources", "ValidationRule")
    for domain, attribute, rule, _ in DEFAULT_RULES:
        rule_model.objects.filter(domain=domain, attribute=attribute, rule=rule,
                                  source=None).delete()


class Migration(migrations.Migration):
    dependencies = [("sources", "0001_initial")]
    operations = [migrations.RunPython(add_rules, remove_rules)]
