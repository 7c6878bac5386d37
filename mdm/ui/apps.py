from django.apps import AppConfig


class UiConfig(AppConfig):
    """The steward web interface: server-rendered pages with htmx, over the services."""

    name = "mdm.ui"
    label = "ui"
    verbose_name = "Steward web interface"
