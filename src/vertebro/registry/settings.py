"""Django settings, all from the environment.

- ``DATABASE_URL``: ``sqlite:///path`` or ``postgresql://user@host:port/db``; default is embedded
  SQLite at ``var/vertebro.sqlite3`` under ``VERTEBRO_HOME`` (default: the current directory).
- ``VERTEBRO_SECRET_KEY`` (required when ``VERTEBRO_DEBUG`` is off in production),
  ``VERTEBRO_ALLOWED_HOSTS`` (comma-separated), ``VERTEBRO_DEBUG`` (0/1),
  ``VERTEBRO_DEID_SECRET`` (key of the hashes that replace study ids in de-identified exports).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

HOME = Path(os.environ.get("VERTEBRO_HOME") or Path.cwd())
DEFAULT_SQLITE_PATH = HOME / "var" / "vertebro.sqlite3"

DEBUG = os.environ.get("VERTEBRO_DEBUG", "0") == "1"
SECRET_KEY = os.environ.get("VERTEBRO_SECRET_KEY") or "vertebro-insecure-development-key-change-me-0123456789"
DEID_SECRET = os.environ.get("VERTEBRO_DEID_SECRET") or SECRET_KEY
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("VERTEBRO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "vertebro.registry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

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
            ]
        },
    }
]


def database_config(url: str | None) -> dict:
    """One database from a URL; SQLite gets WAL, immediate transactions and a busy timeout."""
    if not url:
        DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    config = dj_database_url.parse(url, conn_max_age=0)
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "vertebro.registry.urls"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = HOME / "var" / "static"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
