"""Configuration: defaults, then the mapping the caller passes, then MENTORNET_* environment variables.

The result is frozen into ``app.config`` once at start-up; nothing changes it afterwards.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

ENV_PREFIX = "MENTORNET_"

# The secret the demo and the tests run with. Production refuses it (see ``check_production_safety``).
DEFAULT_SECRET_KEY = "mentornet-insecure-development-key"  # noqa: S105  # nosec B105  # refused in production

DEFAULTS: dict[str, Any] = {
    # "production" or "development"; production refuses unsafe settings.
    "ENV": "production",
    "DATABASE_URL": None,  # None: SQLite file in the instance folder
    # PostgreSQL connections each process keeps open; None: `mentornet serve`'s threads + 2, else 10 (db.py)
    "DATABASE_POOL_SIZE": None,
    "SECRET_KEY": DEFAULT_SECRET_KEY,
    "BASE_URL": "http://127.0.0.1:5000",
    "SMTP_URL": None,  # smtp://user:pass@host:port, smtps://... or smtp+starttls://...; None: local mailbox
    "MAIL_FROM": "mentorNET <no-reply@localhost>",
    "SMTP_TIMEOUT": 15,  # seconds to connect to the SMTP server and for each of its answers
    "BROKER_URL": None,  # None: background jobs run in-process
    "CELERY_QUEUE": "mentornet",  # the broker's queue: services sharing one broker each name their own
    "WEBHOOK_SECRET": None,  # nosec B105  # no default secret: set by the operator
    # None: the broker's Redis (BROKER_URL redis://...) when there is one, else memory:// (counts per process)
    "RATELIMIT_STORAGE_URL": None,
    "RATELIMIT_ENABLED": None,  # None: on, except in tests
    "PAGE_CACHE": None,  # None: on, except in tests (network_service.page_cache)
    "RATELIMIT_KEY_PREFIX": "mentornet",  # several services sharing one Redis keep their counters apart
    "RATELIMIT_API": "300 per minute;5000 per hour",  # JSON API requests per credential (token, person, address)
    "SIGN_IN_LINK_MINUTES": 30,
    "INVITATION_DAYS": 14,  # invitations a person sends
    "GRADUATE_INVITATION_DAYS": 30,  # invitations of course graduates
    "INVITATION_REMINDER_DAYS": [3, 10],  # remind invitees who have not answered, this many days after
    "AGREEMENT_REMINDER_DAYS": [3, 10],  # remind members to accept a new agreement, this many days after it
    "SESSION_HOURS": 12,
    "LANGUAGES": None,  # None: every language that has a translation catalog
    "DEFAULT_LOCALE": "en",
    "DEFAULT_TIMEZONE": "UTC",
    "PLUGINS": None,  # None: every installed entry point of "mentornet.plugins"; else a list of names
    "OUTBOX_WORKER": True,  # a background thread of each web process acts on received completions and sends mail
    "JOBS_IN_PROCESS": True,  # without a broker, web processes run the periodic jobs themselves
    "OUTBOX_MAX_ATTEMPTS": 30,  # back-off is capped at 6 hours: about 5 days of trying
    "DEMO_MAILBOX": False,  # show the local mailbox page (only when no SMTP server is configured)
    "TESTING": False,
    "PROXY_COUNT": 0,  # how many reverse proxies (setting X-Forwarded-*) stand in front of the service
    "NOTIFICATION_RETENTION_DAYS": 180,  # read notifications older than this are deleted by a daily job
    "NOTIFICATION_DIGEST_HOUR": 7,  # daily/weekly digests go out from this hour on, in each member's time zone
    "OPENEDX_LMS_URL": None,  # https://lms.example.org: the LMS that `mentornet bridge reconcile` reads
    "OPENEDX_CLIENT_ID": None,  # the LMS's OAuth2 application (client credentials grant)
    "OPENEDX_CLIENT_SECRET": None,  # nosec B105  # no default secret: set by the operator
    "UPLOAD_DIR": None,  # where library files are stored, outside any web root; None: <instance>/uploads
    "RESOURCE_MAX_BYTES": 10 * 1024 * 1024,  # the largest file a member may add to a network's library
    "HELP_NOTIFY_COUNT": 5,  # members notified of a new help request (the best matches)
    "COMPLETION_PAYLOAD_RETENTION_DAYS": 90,  # raw completion payloads lose their personal data after this
    "PRIVACY_EXPORTS_PER_DAY": 5,  # data exports one member may download per 24 hours
    "PRIVACY_EXPORT_MAX_BYTES": 200 * 1024 * 1024,  # files beyond this are listed in an export, not included
    "SENT_MAIL_RETENTION_DAYS": 30,  # e-mails sent longer ago than this leave the outbox table
    # the text of a message a moderator removed (or whose author deleted it while a report on it was open, or
    # after a moderator hid it) is kept this long for review and appeal, then dropped by a daily job
    "DELETED_TEXT_RETENTION_DAYS": 90,
    # Fernet key(s), comma-separated, for the LTI tool's private keys at rest (first encrypts, all decrypt);
    # None: a key derived from SECRET_KEY. Make one with: python -c "from cryptography.fernet import Fernet;
    # print(Fernet.generate_key().decode())"
    "KEY_ENCRYPTION_KEY": None,
}

# Keys whose environment value is parsed as JSON (lists, numbers, booleans).
_TYPED = {
    "DATABASE_POOL_SIZE",
    "SIGN_IN_LINK_MINUTES",
    "INVITATION_DAYS",
    "GRADUATE_INVITATION_DAYS",
    "INVITATION_REMINDER_DAYS",
    "AGREEMENT_REMINDER_DAYS",
    "SESSION_HOURS",
    "LANGUAGES",
    "PLUGINS",
    "OUTBOX_WORKER",
    "JOBS_IN_PROCESS",
    "OUTBOX_MAX_ATTEMPTS",
    "DEMO_MAILBOX",
    "TESTING",
    "RATELIMIT_ENABLED",
    "PAGE_CACHE",
    "PROXY_COUNT",
    "NOTIFICATION_RETENTION_DAYS",
    "NOTIFICATION_DIGEST_HOUR",
    "RESOURCE_MAX_BYTES",
    "HELP_NOTIFY_COUNT",
    "COMPLETION_PAYLOAD_RETENTION_DAYS",
    "PRIVACY_EXPORTS_PER_DAY",
    "PRIVACY_EXPORT_MAX_BYTES",
    "SENT_MAIL_RETENTION_DAYS",
    "DELETED_TEXT_RETENTION_DAYS",
    "SMTP_TIMEOUT",
}


class ConfigurationError(RuntimeError):
    """The configuration cannot be used; the message says which setting and why."""


def _parse_env_value(key: str, raw: str) -> Any:
    if key not in _TYPED:
        return raw
    if key in {"LANGUAGES", "PLUGINS"} and not raw.strip().startswith("["):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if key in {"INVITATION_REMINDER_DAYS", "AGREEMENT_REMINDER_DAYS"} and not raw.strip().startswith("["):
        try:
            return [int(part) for part in raw.split(",") if part.strip()]
        except ValueError as exc:
            raise ConfigurationError(f"{ENV_PREFIX}{key}={raw!r} is not a list of whole days") from exc
    try:
        return json.loads(raw.lower() if raw.lower() in {"true", "false"} else raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{ENV_PREFIX}{key}={raw!r} is not a valid value") from exc


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict:
    """Layer the defaults, the caller's mapping and the environment (the environment wins)."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    if overrides:
        config.update(overrides)
    for key in DEFAULTS:
        env_key = ENV_PREFIX + key
        if env_key in environ:
            config[key] = _parse_env_value(key, environ[env_key])
    if config["ENV"] not in ("production", "development"):
        raise ConfigurationError(
            f"MENTORNET_ENV must be 'production' or 'development', not {config['ENV']!r}"
        )
    config["DATABASE_URL"] = _with_driver(config["DATABASE_URL"])
    pool_size = config["DATABASE_POOL_SIZE"]
    if pool_size is not None and (
        isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1
    ):
        raise ConfigurationError(
            f"MENTORNET_DATABASE_POOL_SIZE must be a whole number of at least 1, not {pool_size!r}"
        )
    smtp_timeout = config["SMTP_TIMEOUT"]
    if isinstance(smtp_timeout, bool) or not isinstance(smtp_timeout, int | float) or smtp_timeout <= 0:
        raise ConfigurationError(
            f"MENTORNET_SMTP_TIMEOUT must be a number of seconds above 0, not {smtp_timeout!r}"
        )
    kept_days = config["DELETED_TEXT_RETENTION_DAYS"]
    if isinstance(kept_days, bool) or not isinstance(kept_days, int) or kept_days < 0:
        raise ConfigurationError(
            f"MENTORNET_DELETED_TEXT_RETENTION_DAYS must be a whole number of days, 0 or more, not {kept_days!r}"
        )
    return config


def _with_driver(url: str | None) -> str | None:
    """``postgresql://`` (and Heroku-style ``postgres://``) mean psycopg 3, the driver we install."""
    if url:
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_production_safety(config: Mapping[str, Any]) -> None:
    if config["ENV"] != "production" or config.get("TESTING"):
        return
    if (
        not config["SECRET_KEY"]
        or config["SECRET_KEY"] == DEFAULT_SECRET_KEY
        or len(config["SECRET_KEY"]) < 32
    ):
        raise ConfigurationError(
            "MENTORNET_SECRET_KEY must be set to a random value of at least 32 characters in production "
            '(for example: python -c "import secrets; print(secrets.token_urlsafe(48))"), '
            "or set MENTORNET_ENV=development for a local trial."
        )
