"""Settings from environment variables.

With nothing set the hub runs on SQLite in the project folder with Celery tasks executed
in-process. Set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/mdm) and
CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to run on PostgreSQL, Redis and real
Celery workers + beat. Production hardening lives in ``mdm.settings.production``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# Demo logins (admin/admin, steward/steward) may only be created where this is true.
MDM_ALLOW_DEMO_USERS = env_bool("MDM_ALLOW_DEMO_USERS", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "mdm.core",
    "mdm.sources",
    "mdm.matching",
    "mdm.golden",
    "mdm.stewardship",
    "mdm.publishing",
    "mdm.api",
    "mdm.ui",
    "mdm.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mdm.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "mdm.urls"
WSGI_APPLICATION = "mdm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "mdm.ui.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite waits for a lock instead of failing at once while another write runs.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("MDM_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "ui:login"
LOGIN_REDIRECT_URL = "ui:dashboard"
LOGOUT_REDIRECT_URL = "ui:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mdm.api.authentication.SourceSystemTokenAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mdm.core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "MDM hub API",
    "DESCRIPTION": "Master data management hub: ingest source records, golden records, "
    "stewardship and publishing.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"DomainEnum": "mdm.core.domains.DOMAIN_CHOICES"},
}

# Celery: without a broker URL, tasks run in-process (eagerly) so nothing else is needed.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Publishing after a commit must fail fast when the broker does not answer (the outbox
# and beat deliver the event later); never hang the request that made the change.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 5}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                    "interval_max": 0.2}
# Keep a worker's database connection across tasks (Celery closes it after every task
# otherwise, and a new PostgreSQL connection costs more than a whole no-op task).
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Every minute, pull from each source whose own pull interval has elapsed.
    "sync-due-sources": {"task": "mdm.sources.tasks.sync_due_sources",
                         "schedule": float(os.environ.get("MDM_PULL_CHECK_SECONDS", "60"))},
    # Fan out any outbox events a missed post-commit trigger left behind; start senders of
    # scheduled subscriptions that are due.
    "dispatch-outbox": {"task": "mdm.publishing.tasks.dispatch_outbox",
                        "schedule": float(os.environ.get("MDM_DISPATCH_SECONDS", "5"))},
    "check-sync-lag": {"task": "mdm.publishing.tasks.check_sync_lag", "schedule": 60.0},
    "reconcile-due": {"task": "mdm.publishing.tasks.reconcile_due", "schedule": 600.0},
}

# Two sources changing one golden attribute within this many seconds (by their own
# business times) is recorded as a concurrent-write conflict; 0 turns it off.
MDM_CONCURRENT_WRITE_WINDOW_S = float(os.environ.get("MDM_CONCURRENT_WRITE_WINDOW_S", "60"))

# Ingestion limits.
MDM_MAX_BATCH_RECORDS = int(os.environ.get("MDM_MAX_BATCH_RECORDS", "1000"))
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("MDM_MAX_REQUEST_BYTES", str(20 * 1024 * 1024)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "filters": {"request_id": {"()": "mdm.core.middleware.RequestIdLogFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain",
                    "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("MDM_LOG_LEVEL", "INFO")},
    # one line per task run is noise for the in-process default; workers log their own
    "loggers": {"celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER
                                     else "INFO"}},
}
