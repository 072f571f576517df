"""Settings of the thebot reference backend, read from the environment
(the seed's .env.production: SECRET_KEY, DEBUG, ALLOWED_HOSTS, DATABASE_URL,
REDIS_URL)."""
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
APP_VERSION = os.environ.get("APP_VERSION", "dev")

# THEBOT_FAULT makes a release fail on purpose, for blueshift's rollback
# scenarios (examples/thebot's Variants); empty in every real release.
# "redis-host": the release reads Redis at a host that does not exist, so
# /api/health/ answers 503 (redis: error) while migrations still run.
# "fail-after:N": each process answers 500 from its (N+1)th request on, like
# a leak that exhausts a pool: it passes health checks and smoke, then breaks
# under traffic after the switch.
FAULT = os.environ.get("THEBOT_FAULT", "")

SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-dev-key-change-me")
DEBUG = os.environ.get("DEBUG", "False").lower() in ("1", "true", "yes")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "*").split(",") if h.strip()]

# Behind the public proxy: trust its X-Forwarded-Proto, and redirect plain
# HTTP to HTTPS only when asked (production sets SECURE_SSL_REDIRECT=True).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "False").lower() in ("1", "true", "yes")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "core",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if FAULT.startswith("fail-after:"):
    MIDDLEWARE.insert(0, "core.faults.FailAfter")

ROOT_URLCONF = "thebot.urls"
WSGI_APPLICATION = "thebot.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_url(url):
    """DATABASES['default'] from postgresql://user:pass@host:port/name."""
    u = urlparse(url)
    if u.scheme not in ("postgres", "postgresql"):
        raise ValueError("DATABASE_URL: want postgresql://user:password@host:port/name")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": u.path.lstrip("/"),
        "USER": unquote(u.username or ""),
        "PASSWORD": unquote(u.password or ""),
        "HOST": u.hostname or "",
        "PORT": str(u.port or 5432),
        "CONN_MAX_AGE": 60,
        "OPTIONS": {"connect_timeout": 3},
    }


DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL", "postgresql://thebot:thebot@127.0.0.1:5432/thebot"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1")
if FAULT == "redis-host":
    REDIS_URL = "redis://redis-gone:6379/1"
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
BEAT_INTERVAL = float(os.environ.get("BEAT_INTERVAL", "10"))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT", "/app/staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", "/app/media")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
