from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "mdm.matching"
    label = "matching"
