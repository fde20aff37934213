"""SafeStats settings: every value comes from the environment (see `.env.example`).

Three modes, chosen by ``SAFESTATS_MODE``:

- ``production`` (the default): every secret must be given; HTTPS-only cookies and HSTS.
- ``demo``: a local instance on http://127.0.0.1 with synthetic data; secrets are generated
  once per instance by ``safestats demo`` and kept in the instance folder.
- ``test``: the test suite; fixed throw-away secrets.

A missing required value stops start-up with a message naming the variable. Nothing here
writes to disk: the instance folder is prepared by :mod:`safestats.instance`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from safestats import instance

env = os.environ

MODES = ("production", "demo", "test")
SAFESTATS_MODE = env.get("SAFESTATS_MODE", "production").strip().lower()
if SAFESTATS_MODE not in MODES:
    raise ImproperlyConfigured(
        f"SAFESTATS_MODE must be one of {', '.join(MODES)}; got {SAFESTATS_MODE!r}."
    )
IS_PRODUCTION = SAFESTATS_MODE == "production"
IS_DEMO = SAFESTATS_MODE == "demo"


def _flag(name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false; got {raw!r}.")


def _list(name: str, default: list[str]) -> list[str]:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _secret(name: str) -> str:
    """A secret from the environment; in demo mode, the instance's generated one."""
    value = env.get(name, "").strip()
    if value:
        if IS_PRODUCTION and len(value) < 32:
            raise ImproperlyConfigured(f"{name} must be at least 32 characters long.")
        return value
    if SAFESTATS_MODE == "test":
        return f"test-only-{name.lower()}-not-secret-0123456789abcdef"
    if IS_DEMO:
        return instance.read_demo_secret(HOME, name)
    raise ImproperlyConfigured(
        f"{name} is required in production. Set it in the environment "
        "(see .env.example), or set SAFESTATS_MODE=demo for a local demo instance."
    )


# --- The instance folder -----------------------------------------------------------------
HOME = Path(env.get("SAFESTATS_HOME", "./var")).expanduser().resolve()
PATHS = instance.InstancePaths.under(HOME)
SAFESTATS_HOME = HOME
SAFESTATS_DATA_DIR = PATHS.data
SAFESTATS_RAW_DIR = PATHS.raw
SAFESTATS_REPORTS_DIR = PATHS.reports
_geography = env.get("SAFESTATS_GEOGRAPHY_DIR", "").strip()
SAFESTATS_GEOGRAPHY_DIR = Path(_geography).expanduser().resolve() if _geography else None
SAFESTATS_TMP_DIR = PATHS.tmp
# Uploads larger than 2.5 MB are streamed to a file here, not held in memory.
FILE_UPLOAD_TEMP_DIR = str(PATHS.tmp)


def _number(name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}.") from None
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be between {low:g} and {high:g}; got {raw}.")
    return value


# --- Ingestion ----------------------------------------------------------------------------
# The largest file accepted, by upload or on the command line, in MB.
SAFESTATS_MAX_UPLOAD_MB = int(_number("SAFESTATS_MAX_UPLOAD_MB", 2048, 1, 1_000_000))
# The share of a file's rows that may be quarantined before the whole load is rejected
# (a load can always ask for a different tolerance).
SAFESTATS_INGEST_TOLERANCE_PERCENT = _number("SAFESTATS_INGEST_TOLERANCE_PERCENT", 5, 0, 100)
# Memory the data engine (DuckDB) may use per job before it spills to disk, in MB.
SAFESTATS_ENGINE_MEMORY_MB = int(_number("SAFESTATS_ENGINE_MEMORY_MB", 1024, 128, 1_000_000))

# --- Secrets ------------------------------------------------------------------------------
SECRET_KEY = _secret("SAFESTATS_SECRET_KEY")
# The root key from which each dataset's pseudonymisation key is derived. Never logged,
# never stored in the database; Django's error reports hide settings whose name has "KEY".
SAFESTATS_PSEUDONYMISATION_KEY = _secret("SAFESTATS_PSEUDONYMISATION_KEY")

DEBUG = _flag("SAFESTATS_DEBUG", default=False)
if DEBUG and IS_PRODUCTION:
    raise ImproperlyConfigured("SAFESTATS_DEBUG cannot be on in production mode.")

_local_hosts = ["127.0.0.1", "localhost", "[::1]"]
ALLOWED_HOSTS = _list("SAFESTATS_ALLOWED_HOSTS", [] if IS_PRODUCTION else _local_hosts)
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "SAFESTATS_ALLOWED_HOSTS is required in production: the host names the service "
        "answers to, separated by commas (for example safestats.example.org)."
    )
CSRF_TRUSTED_ORIGINS = _list("SAFESTATS_CSRF_TRUSTED_ORIGINS", [])

# --- Applications -------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "safestats.web",
    "safestats.accounts",
    "safestats.audit",
    "safestats.organisations",
    "safestats.access",
    "safestats.geography",
    "safestats.catalogue",
    "safestats.ingest",
    "safestats.query",
    "django_tasks",
    "django_tasks_db",
]

# Background jobs (ingestion) are queued in the database and run by `safestats worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

MIDDLEWARE = [
    "safestats.web.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "safestats.accounts.middleware.SignInGateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "safestats.web.middleware.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "safestats.web.context_processors.service",
                "safestats.query.context_processors.navigation",
            ],
        },
    },
]

# --- Databases ----------------------------------------------------------------------------
_database_url = env.get("DATABASE_URL", "").strip()
if _database_url:
    DATABASES: dict[str, dict[str, Any]] = {
        "default": dict(
            dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": PATHS.database,
            "OPTIONS": {
                # WAL lets readers carry on while one writer writes; IMMEDIATE takes the
                # write lock at BEGIN, so concurrent writers queue instead of failing.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

# --- Sign-in ------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out emails and addresses first
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "accounts:your_account"
# Lockout: 5 failures for one email, or from one address, lock it for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "safestats.accounts.services.email_tried"
AXES_LOCKOUT_CALLABLE = "safestats.accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "safestats.audit.services.client_ip"
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
OTP_TOTP_ISSUER = "SafeStats"
OTP_TOTP_THROTTLE_FACTOR = 1
SAFESTATS_IDLE_TIMEOUT = timedelta(minutes=30)
SAFESTATS_ABSOLUTE_TIMEOUT = timedelta(hours=12)
SAFESTATS_RECOVERY_CODES = 10

# --- Passwords and sessions ---------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "safestats.accounts.passwords.PatternPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60  # a reset link works for one hour

# The cookie outlives no session; the idle (30 min) and absolute (12 h) limits are
# enforced on the server by safestats.accounts.middleware.
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "safestats.web.views.csrf_failure"

# --- Transport security -------------------------------------------------------------------
# HTTPS is assumed in production (behind a TLS-terminating proxy or not); the demo and the
# tests serve plain HTTP on localhost, where Secure cookies and HSTS cannot work.
HTTPS = _flag("SAFESTATS_HTTPS", default=IS_PRODUCTION) and not DEBUG
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = False
SAFESTATS_BEHIND_PROXY = _flag("SAFESTATS_BEHIND_PROXY", default=False)
if SAFESTATS_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# No inline script or style anywhere: every script and stylesheet is a file we serve.
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        **({"upgrade-insecure-requests": True} if HTTPS else {}),
    }
}

PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "usb",
        "xr-spatial-tracking",
    )
}

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = PATHS.static
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if SAFESTATS_MODE == "test"
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = PATHS.raw  # nothing is served from here: uploads stay outside the web root

# --- Email --------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.get("SAFESTATS_EMAIL_FROM", "SafeStats <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env.get("SAFESTATS_EMAIL_HOST", "").strip()
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(env.get("SAFESTATS_EMAIL_PORT", "587"))
    EMAIL_HOST_USER = env.get("SAFESTATS_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = env.get("SAFESTATS_EMAIL_PASSWORD", "")
    EMAIL_USE_TLS = _flag("SAFESTATS_EMAIL_USE_TLS", default=True)
    EMAIL_TIMEOUT = 20
elif IS_PRODUCTION:
    raise ImproperlyConfigured(
        "SAFESTATS_EMAIL_HOST is required in production: SafeStats sends password resets "
        "and authorisation requests by email."
    )
else:
    # Demo: messages are written as files under the instance folder, to read by hand.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = PATHS.mail

# --- Language, time -----------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Logging ------------------------------------------------------------------------------
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": env.get("SAFESTATS_LOG_LEVEL", "INFO")},
    "loggers": {
        # Request bodies and headers never reach the logs.
        "django.request": {"level": "ERROR"},
        # Sign-in attempts are in the audit log; axes' own lines would only repeat them.
        "axes": {"level": "WARNING"},
    },
}

SAFESTATS_SERVICE_NAME = "SafeStats"
SAFESTATS_PHASE = "beta"
SAFESTATS_CONTACT_EMAIL = env.get("SAFESTATS_CONTACT_EMAIL", "safestats@example.org")
