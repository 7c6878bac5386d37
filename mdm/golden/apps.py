from django.apps import AppConfig


class GoldenConfig(AppConfig):
    name = "mdm.golden"
    label = "golden"
