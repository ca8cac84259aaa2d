"""``mentornet lti platform add --openedx LMS_URL``: the tool-side registration and the LMS's XBLOCK_SETTINGS."""

from __future__ import annotations

import click

from network_service.urls import public_url


def add_openedx(lms_url: str, trust_email: bool, commit) -> None:
    from lti_bridge.lti.openedx_xblock import register_openedx

    registered = commit(register_openedx, lms_url, public_url(), trust_email=trust_email)
    platform = registered.platform
    click.echo(f"Registered the Open edX LMS {platform.issuer} (client id {platform.client_id}).", err=True)
    click.echo(
        "Add this to the LMS settings (Tutor: see docs/openedx-xblock.md). It holds the platform's private "
        "key: keep it secret, and do not paste it anywhere else.",
        err=True,
    )
    click.echo(registered.snippet())
