"""Settings, driven by the environment so one install serves a laptop and a cluster.

YINGJI_DATA_DIR   where the SQLite file, the secret key and uploads live (default ./data)
DATABASE_URL      postgres://user:pass@host:port/name to use PostgreSQL instead of SQLite
YINGJI_DEBUG      "1" for development
YINGJI_ALLOWED_HOSTS  comma-separated; default "*" because hospitals reach the box by IP
YINGJI_EMAIL_URL  smtp://[user:pass@]host:port[?from=addr] (smtps:// for TLS) to send pages by email
YINGJI_BASE_URL   how phones reach this server, for acknowledgement links (set by `yingji run`)
YINGJI_SMS_URL, YINGJI_WECOM_URL, ...  apprise URLs named by the plan's notification channels
"""

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


DATA_DIR = Path(os.environ.get("YINGJI_DATA_DIR", "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """A key kept beside the data, so signed links survive restarts without configuration."""
    if os.environ.get("YINGJI_SECRET_KEY"):
        return os.environ["YINGJI_SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("YINGJI_DEBUG")
ALLOWED_HOSTS = os.environ.get("YINGJI_ALLOWED_HOSTS", "*").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("YINGJI_CSRF_TRUSTED_ORIGINS", "").split(",") if o]


def database_from_url(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL: unsupported scheme {parsed.scheme!r}; use postgres://")
    options = dict(parse_qsl(parsed.query))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": unquote(parsed.hostname or ""),
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": 60,
        "OPTIONS": options,
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("YINGJI_SQLITE_PATH", str(DATA_DIR / "yingji.sqlite3")),
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout
            # instead of failing halfway with "database is locked".
            # synchronous=FULL: a report that got 201 survives a power cut, not only a crash.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=FULL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-20000;"
                ),
            },
            "CONN_MAX_AGE": None,
        }
    }

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "yingji.core",
    "yingji.accounts",
    "yingji.plans",
    "yingji.incidents",
    "yingji.timers",
    "yingji.oncall",
    "yingji.notify",
    "yingji.recovery",
    "yingji.reviews",
    "yingji.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "yingji.urls"
WSGI_APPLICATION = "yingji.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yingji.web.context.yingji",
            ],
        },
    }
]

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "dashboard"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

# Chinese first: the hospitals this is written for work in Chinese.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("YINGJI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the app directories, so a fresh install needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SESSION_COOKIE_AGE = 12 * 3600
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("YINGJI_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# How often the worker looks for due timers, in seconds.
YINGJI_WORKER_POLL_S = float(os.environ.get("YINGJI_WORKER_POLL_S", "0.2"))
# Reports from a workstation without a login are accepted on the intranet form (the seeds ask
# that "each workstation" can report); the API always needs a token.
YINGJI_ANONYMOUS_REPORTS = env_bool("YINGJI_ANONYMOUS_REPORTS", True)

# A claimed timer or delivery whose worker died comes back after this long.
YINGJI_LEASE_S = float(os.environ.get("YINGJI_LEASE_S", "30"))
# Only for the crash test: the worker sleeps this long between claiming timers and firing them.
YINGJI_FAULT_PAUSE_AFTER_CLAIM_S = float(os.environ.get("YINGJI_FAULT_PAUSE_AFTER_CLAIM_S", "0"))
YINGJI_BASE_URL = os.environ.get("YINGJI_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Sends run in threads so one slow SMTP server or gateway does not hold up the rest.
YINGJI_SEND_THREADS = env_int("YINGJI_SEND_THREADS", 8)


# smtp://[user:pass@]host:port[?from=addr&starttls=1], or smtps:// (read by yingji.notify.channels).
YINGJI_EMAIL_URL = os.environ.get("YINGJI_EMAIL_URL", "")


# -- Request body limits (yingji.core.limits) ---------------------------------------------------
# Checked before anything parses the body: over the limit is a JSON 413 {"detail", "field": "body"}
# under /api/ and a plain page elsewhere. JSON and form bodies: YINGJI_BODY_MAX_BYTES (1 MiB).
# Multipart uploads, i.e. the CSV/XLSX import of paper records: YINGJI_IMPORT_MAX_BYTES (50 MiB).
YINGJI_BODY_MAX_BYTES = env_int("YINGJI_BODY_MAX_BYTES", 1024 * 1024)
YINGJI_IMPORT_MAX_BYTES = env_int("YINGJI_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
# Django's own bound on what it reads into memory (a body, a multipart upload's non-file fields).
DATA_UPLOAD_MAX_MEMORY_SIZE = YINGJI_BODY_MAX_BYTES
# First, so neither CSRF nor sessions have read the body before the limit is checked.
MIDDLEWARE.insert(0, "yingji.core.limits.BodyLimitMiddleware")
