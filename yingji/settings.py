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
from datetime import timedelta
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
    "yingji.alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "yingji.plans.middleware.PlanLanguageMiddleware",  # no language asked for: the plan's
    "yingji.plans.middleware.PlanTimezoneMiddleware",  # the hospital's clock: the plan's time zone
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

# Chinese first: the hospitals this is written for work in Chinese.
LANGUAGE_CODE = "zh-hans"
# Each in its own language: the language switch shows these as they are, never translated.
LANGUAGES = [("zh-hans", "中文（简体）"), ("en", "English")]
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

# -- Bounds on files read from outside (CSV/XLSX imports), checked before anything is allocated.
YINGJI_IMPORT_MAX_BYTES = env_int("YINGJI_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
YINGJI_IMPORT_MAX_ROWS = env_int("YINGJI_IMPORT_MAX_ROWS", 200_000)
YINGJI_IMPORT_MAX_COLUMNS = env_int("YINGJI_IMPORT_MAX_COLUMNS", 64)
YINGJI_IMPORT_MAX_CELL_CHARS = env_int("YINGJI_IMPORT_MAX_CELL_CHARS", 10_000)
# An XLSX is a zip: what it unpacks to is bounded too (a 50 MB sheet of text unpacks to ~300 MB).
YINGJI_IMPORT_MAX_UNPACKED_BYTES = env_int("YINGJI_IMPORT_MAX_UNPACKED_BYTES", 500 * 1024 * 1024)
# The XLSX reader runs in a child process with this much address space beyond what it inherits.
YINGJI_IMPORT_READER_MEMORY_BYTES = env_int("YINGJI_IMPORT_READER_MEMORY_BYTES", 2 * 1024 * 1024 * 1024)
YINGJI_IMPORT_READER_SECONDS = env_int("YINGJI_IMPORT_READER_SECONDS", 120)

# -- The audit chain's anchors: the head hash and count, appended to a file outside the database
# every N entries or M minutes (whichever comes first), so removing the newest entries shows.
# Keep the file on another disk or make it append-only (chattr +a); YINGJI_AUDIT_KEY, when set,
# replaces the data directory's audit_key file.
YINGJI_AUDIT_ANCHOR_FILE = os.environ.get("YINGJI_AUDIT_ANCHOR_FILE", str(DATA_DIR / "audit-anchors.jsonl"))
YINGJI_AUDIT_ANCHOR_EVERY = env_int("YINGJI_AUDIT_ANCHOR_EVERY", 100)
YINGJI_AUDIT_ANCHOR_MINUTES = env_int("YINGJI_AUDIT_ANCHOR_MINUTES", 10)
# The daily digest of the chain's head to the office by email, at this local hour.
YINGJI_AUDIT_DIGEST_HOUR = env_int("YINGJI_AUDIT_DIGEST_HOUR", 8)

# --- Logins, sessions and response headers ---------------------------------------------------
# What a 等保 level-3 assessment asks of the web login (docs/security.md says why each is so).

# Failed logins at /login: YINGJI_LOGIN_FAILURES of them lock the account, and separately the
# address they came from, for YINGJI_LOCKOUT_MINUTES (django-axes; each further try while locked
# starts the wait again). An admin unlocks sooner with `yingji user unlock`. API tokens are not
# passwords and are not counted.
YINGJI_LOGIN_FAILURES = env_int("YINGJI_LOGIN_FAILURES", 5)
YINGJI_LOCKOUT_MINUTES = env_int("YINGJI_LOCKOUT_MINUTES", 15)
# Behind a reverse proxy that terminates TLS: trust its X-Forwarded-Proto (https) and take the
# client's address from the last X-Forwarded-For entry it appends, so one locked address is one
# workstation and not the proxy. Only set it when nothing but the proxy can reach this server.
YINGJI_BEHIND_PROXY = env_bool("YINGJI_BEHIND_PROXY")

INSTALLED_APPS += ["axes", "csp", "ninja"]  # ninja: the API docs from local files, not a CDN
MIDDLEWARE += ["csp.middleware.CSPMiddleware", "axes.middleware.AxesMiddleware"]  # axes last, as it asks
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = YINGJI_LOGIN_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=YINGJI_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "yingji.accounts.lockout.locked_out_page"
AXES_CLIENT_IP_CALLABLE = "yingji.accounts.lockout.client_address"
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failure kept (axes' AccessFailureLog), not only the lock
AXES_VERBOSE = False

# Sessions live in the database, so logging out ends them on the server, and expire after
# YINGJI_SESSION_IDLE_MINUTES without a request (every request pushes the expiry on; a page that
# refreshes itself, like /screen or the dashboard, therefore stays signed in while it is open).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
YINGJI_SESSION_IDLE_MINUTES = env_int("YINGJI_SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = 60 * YINGJI_SESSION_IDLE_MINUTES
SESSION_SAVE_EVERY_REQUEST = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("YINGJI_PASSWORD_MIN_LENGTH", 8)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Pages load scripts and styles from this server only: no inline script, no inline style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# /r/<key> and /ack/<token> carry their secret in the path: never send it to another site.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Served over https (YINGJI_BASE_URL says so): cookies only over TLS, and browsers told to
# refuse plain http for a year.
YINGJI_HTTPS = YINGJI_BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = YINGJI_HTTPS
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if YINGJI_HTTPS else 0
if YINGJI_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# -- Request body limits (yingji.core.limits) ---------------------------------------------------
# Checked before anything parses the body: over the limit is a JSON 413 {"detail", "field": "body"}
# under /api/ and a plain page elsewhere. JSON and form bodies: YINGJI_BODY_MAX_BYTES (1 MiB).
# Multipart uploads, i.e. the CSV/XLSX import of paper records: YINGJI_IMPORT_MAX_BYTES (above).
YINGJI_BODY_MAX_BYTES = env_int("YINGJI_BODY_MAX_BYTES", 1024 * 1024)
# A monitor's payload (/integrations/...): Alertmanager sends a whole group, thousands of alerts.
YINGJI_INTEGRATION_MAX_BYTES = env_int("YINGJI_INTEGRATION_MAX_BYTES", 8 * 1024 * 1024)
# Django's own bound on what it reads into memory (a body, a multipart upload's non-file fields).
DATA_UPLOAD_MAX_MEMORY_SIZE = YINGJI_BODY_MAX_BYTES
# First, so neither CSRF nor sessions have read the body before the limit is checked.
MIDDLEWARE.insert(0, "yingji.core.limits.BodyLimitMiddleware")
# Then NUL in a path, query or form field is a 400 naming it (PostgreSQL cannot hold NUL in text).
MIDDLEWARE.insert(1, "yingji.core.limits.NulGuardMiddleware")
