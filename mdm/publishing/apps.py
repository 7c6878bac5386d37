from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "mdm.publishing"
    label = "publishing"
