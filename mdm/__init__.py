"""MDM hub: the Django project and its apps, one per pipeline stage."""

from mdm.celery import app as celery_app

__version__ = "0.1.0"
__all__ = ["__version__", "celery_app"]
