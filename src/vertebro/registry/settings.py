"""Django settings, all from the environment.

- ``DATABASE_URL``: ``sqlite:///path`` or ``postgresql://user@host:port/db``; default is embedded
  SQLite at ``var/vertebro.sqlite3`` under ``VERTEBRO_HOME`` (default: the current directory).
- ``VERTEBRO_SECRET_KEY`` (required when ``VERTEBRO_DEBUG`` is off in production),
  ``VERTEBRO_ALLOWED_HOSTS`` (comma-separated), ``VERTEBRO_DEBUG`` (0/1),
  ``VERTEBRO_DEID_SECRET`` (key of the hashes that replace study ids in de-identified exports).

The web app:

- ``VERTEBRO_SESSION_IDLE_MINUTES`` (default 30): a session left idle this long is logged out; pages warn
  two minutes before (``static/web/session.js``).
- ``VERTEBRO_LOGIN_FAILURE_LIMIT`` (default 5) failed logins lock an account, and separately an address,
  for ``VERTEBRO_LOGIN_COOLOFF_MINUTES`` (default 15).
- ``VERTEBRO_HTTPS=1`` when the app is reached over HTTPS: secure cookies, HTTP redirected to HTTPS, HSTS
  for ``VERTEBRO_HSTS_SECONDS`` (default one year; ``VERTEBRO_HSTS_PRELOAD=0`` leaves preload off).
- ``VERTEBRO_BEHIND_PROXY=1`` when a reverse proxy terminates TLS and sets ``X-Forwarded-Proto`` and
  ``X-Forwarded-For``: the app then trusts those two headers (and only then).
- ``VERTEBRO_CSRF_TRUSTED_ORIGINS`` (comma-separated, e.g. ``https://registry.example.org``).

With ``VERTEBRO_SECRET_KEY``, ``VERTEBRO_ALLOWED_HOSTS`` and ``VERTEBRO_HTTPS=1`` set,
``vertebro manage check --deploy`` reports nothing.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

HOME = Path(os.environ.get("VERTEBRO_HOME") or Path.cwd())
DEFAULT_SQLITE_PATH = HOME / "var" / "vertebro.sqlite3"


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is neither on (1, true, yes, on) nor off (0, false, no, off)")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number; set it to one (default {default}) or unset it") from None


def _env_minutes(name: str, default: float) -> float:
    """Minutes, fractions allowed (``0.5`` is 30 seconds: tests of the expiry warning use it)."""
    value = os.environ.get(name) or str(default)
    try:
        minutes = float(value)
    except ValueError:
        minutes = -1.0
    if not minutes > 0:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number of minutes above 0; set it to one (default {default}) or unset it")
    return minutes


DEBUG = _env_flag("VERTEBRO_DEBUG")
_DEVELOPMENT_KEY = "vertebro-insecure-development-key-change-me-0123456789"
# The "django-insecure-" prefix makes `check --deploy` flag a deployment that forgot VERTEBRO_SECRET_KEY.
SECRET_KEY = os.environ.get("VERTEBRO_SECRET_KEY") or f"django-insecure-{_DEVELOPMENT_KEY}"
# No development fallback: a key written in the source would let anyone recompute the hashes of a
# de-identified extract from a list of study ids. vertebro.interop.deidentify refuses to export without one.
DEID_SECRET = os.environ.get("VERTEBRO_DEID_SECRET") or os.environ.get("VERTEBRO_SECRET_KEY") or ""
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("VERTEBRO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "vertebro.registry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files are answered here, before sessions and the database are touched.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "vertebro.registry.web.middleware.IdleSessionTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "vertebro.registry.web.middleware.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "vertebro.registry.api.logging.ApiCallLogMiddleware",
    # django-axes wants to be last: it turns a lockout raised during authentication into its response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

# Sessions: idle ones end after VERTEBRO_SESSION_IDLE_MINUTES (IdleSessionTimeoutMiddleware); the cookie
# dies with the browser; django.contrib.auth.login() gives the session a new id. The stored session
# outlives the idle limit by a working day so that the middleware, not the session store, ends it: the
# person coming back is told why (and that a form they sent was not saved) instead of meeting a bare
# login page; no request is served on an idle session either way.
VERTEBRO_SESSION_IDLE_SECONDS = round(_env_minutes("VERTEBRO_SESSION_IDLE_MINUTES", 30) * 60)
SESSION_COOKIE_AGE = VERTEBRO_SESSION_IDLE_SECONDS + 12 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Failed logins: locked per account and, separately, per address (django-axes).
AXES_FAILURE_LIMIT = _env_int("VERTEBRO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=_env_int("VERTEBRO_LOGIN_COOLOFF_MINUTES", 15))
# An address is locked too (someone trying many accounts from one machine), unless the hospital puts
# every workstation behind one address: then one person's typos would lock the whole site out.
AXES_LOCKOUT_PARAMETERS = ["username", *(["ip_address"] if _env_flag("VERTEBRO_LOGIN_LOCK_ADDRESS", default=True) else [])]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "vertebro.registry.web.middleware.client_ip_address"

# The REST API (issue 11): bearer tokens only (no session, so no CSRF), pages of up to 1,000.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["vertebro.registry.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "vertebro.registry.api.pagination.RegistryPagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "vertebro registry API",
    "DESCRIPTION": "Patients, procedures, pain assessments, follow-ups, imports and the vertebro.analysis/1 contract "
    "of the caller's sites. Authenticate with `Authorization: Bearer <token>` (`vertebro user token create`).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}
#: Wrong API tokens one address may present within the window before all its API requests are 429.
VERTEBRO_API_FAILURE_LIMIT = _env_int("VERTEBRO_API_FAILURE_LIMIT", 20)
VERTEBRO_API_FAILURE_WINDOW_SECONDS = _env_int("VERTEBRO_API_FAILURE_WINDOW_MINUTES", 15) * 60

# HTTPS and the reverse proxy, from the environment.
VERTEBRO_BEHIND_PROXY = _env_flag("VERTEBRO_BEHIND_PROXY")
if VERTEBRO_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
_HTTPS = _env_flag("VERTEBRO_HTTPS")
SECURE_SSL_REDIRECT = _HTTPS
SESSION_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_SECURE = _HTTPS
SECURE_HSTS_SECONDS = _env_int("VERTEBRO_HSTS_SECONDS", 31_536_000) if _HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS
SECURE_HSTS_PRELOAD = _HTTPS and _env_flag("VERTEBRO_HSTS_PRELOAD", default=True)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "vertebro.registry.web.views.errors.csrf_failure"
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("VERTEBRO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vertebro.registry.web.permissions.access_context",
                "vertebro.registry.web.middleware.session_context",
            ],
            "libraries": {"vertebro_web": "vertebro.registry.web.templatetags"},
        },
    }
]


SUPPORTED_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")


def database_config(url: str | None) -> dict:
    """One database from a URL; SQLite gets WAL, immediate transactions and a busy timeout."""
    if not url:
        url = f"sqlite:///{DEFAULT_SQLITE_PATH}"  # `vertebro init` creates its folder, no other command does
    scheme = url.split(":", 1)[0].lower()
    if scheme not in SUPPORTED_SCHEMES:  # said before parsing: the rest of the URL may hold a password
        raise ImproperlyConfigured(
            f"DATABASE_URL starts with {scheme!r}: vertebro runs on SQLite (sqlite:////path/to/registry.sqlite3) "
            "or PostgreSQL (postgresql://user@host:5432/database)"
        )
    config = dj_database_url.parse(url, conn_max_age=0)
    if config["ENGINE"] == "django.db.backends.sqlite3" and (str(config["NAME"]) in ("", ":memory:") or "memory" in str(config["NAME"]).split(":")):
        raise ImproperlyConfigured(
            f"DATABASE_URL {url!r} names no file, so the registry would live in memory and vanish: write "
            "sqlite:////absolute/path/registry.sqlite3 (four slashes) or sqlite:///relative/path/registry.sqlite3"
        )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # Two writers wait for each other (up to 30 s) instead of failing with "database is locked".
            "timeout": 30,
            # BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails half-way.
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # Parallel test runs (several developers, CI) must not share one test database.
        config["TEST"] = {"NAME": os.environ.get("VERTEBRO_TEST_DB_NAME") or f"test_vertebro_{os.getpid()}"}
    return config


DATABASES = {"default": database_config(os.environ.get("DATABASE_URL"))}
# A server keeps its connections between requests (`vertebro serve` sets 600 s): a new SQLite connection
# starts with an empty page cache and re-reads the schema, which costs more than most pages.
DATABASES["default"]["CONN_MAX_AGE"] = _env_int("VERTEBRO_CONN_MAX_AGE", 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "vertebro.registry.urls"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
FORMAT_MODULE_PATH = ["vertebro.registry.web.formats"]  # ISO dates in every page

STATIC_URL = "static/"
STATIC_ROOT = HOME / "var" / "static"  # `vertebro serve` creates it (WhiteNoise warns when it is missing)
STATICFILES_DIRS = [Path(__file__).resolve().parent / "web" / "static"]
# WhiteNoise serves straight from the app's static folders: `vertebro serve` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# The dashboard's aggregates are cached under the registry's data version, so a change anywhere (form,
# import, script) makes the next request compute them afresh. `vertebro serve` sets VERTEBRO_CACHE_DIR so
# that its worker processes share one cache (each version is computed once); the key prefix names the
# database, so registries never see each other's figures. Without it each process keeps its own.
_CACHE_DIR = os.environ.get("VERTEBRO_CACHE_DIR")
if _CACHE_DIR:
    _database = DATABASES["default"]
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": _CACHE_DIR,
            "KEY_PREFIX": hashlib.sha256(f"{_database['ENGINE']}|{_database.get('HOST')}|{_database.get('PORT')}|{_database['NAME']}".encode()).hexdigest()[:16],
            "OPTIONS": {"MAX_ENTRIES": 1000},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "vertebro"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# Patient-reported follow-up (issue 9): invitation mail through Django's email backend. SMTP by default
# (host, port, TLS, user, password and the From address from the environment); VERTEBRO_EMAIL_BACKEND=file
# writes every message into var/mail/ instead (development, the demo), =console prints it.
VERTEBRO_HOME = HOME
_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
}
_email_backend = os.environ.get("VERTEBRO_EMAIL_BACKEND", "smtp").strip().lower()
if _email_backend not in _EMAIL_BACKENDS:
    raise ImproperlyConfigured(f"VERTEBRO_EMAIL_BACKEND={_email_backend!r} is not one of {', '.join(_EMAIL_BACKENDS)}")
EMAIL_BACKEND = _EMAIL_BACKENDS[_email_backend]
EMAIL_FILE_PATH = HOME / "var" / "mail"
EMAIL_HOST = os.environ.get("VERTEBRO_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = _env_int("VERTEBRO_EMAIL_PORT", 25)
EMAIL_USE_TLS = _env_flag("VERTEBRO_EMAIL_USE_TLS")
EMAIL_HOST_USER = os.environ.get("VERTEBRO_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("VERTEBRO_EMAIL_PASSWORD", "")
EMAIL_TIMEOUT = _env_int("VERTEBRO_EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("VERTEBRO_EMAIL_FROM", "vertebro registry <noreply@localhost>")
#: The address patients' links start with (no trailing slash), e.g. https://registry.example.org.
VERTEBRO_PUBLIC_URL = os.environ.get("VERTEBRO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
#: Answers allowed per client address per hour on the patient page (wrong tokens included).
VERTEBRO_RESPONSE_RATE_PER_HOUR = _env_int("VERTEBRO_RESPONSE_RATE_PER_HOUR", 60)
