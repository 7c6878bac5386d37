from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mdm.api"
    label = "api"
