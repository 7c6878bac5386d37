from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "mdm.demo"
    label = "demo"
