from django.apps import AppConfig


class StewardshipConfig(AppConfig):
    name = "mdm.stewardship"
    label = "stewardship"
