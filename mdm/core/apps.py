from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_roles_after_last_app(sender: AppConfig, **kwargs: Any) -> None:
    """Permissions exist only once every app has migrated: sync roles after the last one."""
    from mdm.core.roles import roles_sync

    with_models = [c for c in apps.get_app_configs() if c.models_module is not None]
    if sender is with_models[-1]:
        roles_sync()


class CoreConfig(AppConfig):
    name = "mdm.core"
    label = "core"

    def ready(self) -> None:
        from mdm.core import history  # noqa: F401  (connects the request-id signal)

        post_migrate.connect(_sync_roles_after_last_app, dispatch_uid="mdm-roles-sync")
