from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "mdm.sources"
    label = "sources"
