"""Absolute addresses for links that leave the request: e-mails, command output, LTI configuration."""

from flask import current_app


def public_url(path: str = "") -> str:
    """``MENTORNET_BASE_URL`` joined with ``path`` (which starts with a slash)."""
    return current_app.config["BASE_URL"].rstrip("/") + path
