from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mdm.api"
    label = "api"

    def ready(self) -> None:
        from mdm.api import schema  # noqa: F401  (registers the OpenAPI extensions)
