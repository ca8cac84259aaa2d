"""`mentornet lti ...`: platform registrations and the tool's keys."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from network_service.urls import public_url

lti_cli = AppGroup("lti", help="LTI 1.3 tool: platform registrations and the tool's signing keys.")


def _commit(operation, *args, **kwargs):
    from network_service.db import session
    from network_service.errors import MentorNetError

    try:
        result = operation(*args, **kwargs)
        session.commit()
        return result
    except MentorNetError as exc:
        session.rollback()
        raise click.ClickException(exc.detail) from exc


@lti_cli.group("platform")
def platform_cli() -> None:
    """Learning platforms (Moodle, Canvas, Open edX, ...) that may launch mentorNET."""


@platform_cli.command("add")
@click.option("--issuer", help="The platform's issuer (iss), e.g. https://moodle.example.org.")
@click.option("--client-id", help="The client id the platform assigned to mentorNET.")
@click.option(
    "--deployment-id",
    "deployment_ids",
    multiple=True,
    help="A deployment id of the tool at the platform; repeat for several.",
)
@click.option("--oidc-auth-url", help="The platform's OIDC authentication request URL.")
@click.option("--token-url", help="The platform's OAuth2 access token URL.")
@click.option("--jwks-url", help="The platform's public key set (JWKS) URL.")
@click.option(
    "--trust-email",
    is_flag=True,
    help="The platform verifies e-mail addresses: its email claim may sign in to the account with that address.",
)
@click.option(
    "--openedx",
    "openedx_url",
    metavar="LMS_URL",
    help="Register an Open edX LMS whose mentorNET XBlock launches mentorNET; prints its XBLOCK_SETTINGS.",
)
def platform_add(
    issuer: str,
    client_id: str,
    deployment_ids: tuple[str, ...],
    oidc_auth_url: str,
    token_url: str,
    jwks_url: str,
    trust_email: bool,
    openedx_url: str | None = None,
) -> None:
    """Register a platform, with the values its LTI 1.3 tool configuration shows (or --openedx LMS_URL)."""
    from lti_bridge.lti.registrations import add_platform

    if openedx_url:
        from lti_bridge.lti.openedx_cli import add_openedx

        return add_openedx(openedx_url, trust_email, _commit)
    missing = [
        name
        for name, value in (
            ("--issuer", issuer),
            ("--client-id", client_id),
            ("--deployment-id", deployment_ids),
            ("--oidc-auth-url", oidc_auth_url),
            ("--token-url", token_url),
            ("--jwks-url", jwks_url),
        )
        if not value
    ]
    if missing:
        raise click.UsageError(f"Missing option(s) {', '.join(missing)} (or give --openedx LMS_URL).")

    platform = _commit(
        add_platform,
        issuer,
        client_id,
        list(deployment_ids),
        oidc_auth_url,
        token_url,
        jwks_url,
        trust_email=trust_email,
    )
    click.echo(f"Registered {platform.issuer} (client id {platform.client_id}).")
    base = public_url()
    click.echo("Give the platform these values:")
    click.echo(f"  Login initiation URL: {base}/lti/login")
    click.echo(f"  Launch / redirect URL: {base}/lti/launch")
    click.echo(f"  Public keyset URL:     {base}/lti/jwks")


@platform_cli.command("add-deployment")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option("--deployment-id", required=True, help="The new deployment id.")
def platform_add_deployment(issuer: str, client_id: str, deployment_id: str) -> None:
    """Accept launches from one more deployment of a registered platform."""
    from lti_bridge.lti.registrations import add_deployment

    platform = _commit(add_deployment, issuer, client_id, deployment_id)
    click.echo(
        f"{platform.issuer} (client id {platform.client_id}) deployments: {', '.join(platform.deployment_ids)}"
    )


@platform_cli.command("list")
def platform_list() -> None:
    """List the registered platforms."""
    from lti_bridge.lti.registrations import list_platforms

    platforms = list_platforms()
    if not platforms:
        click.echo("No platform yet: register one with `mentornet lti platform add`.")
    for platform in platforms:
        trust = "trusts e-mail" if platform.trust_email else "e-mail confirmed by the learner"
        via = "dynamic registration" if platform.registered_via == "dynamic" else "added by hand"
        product = f" {platform.product}" if platform.product else ""
        click.echo(
            f"{platform.issuer}{product}  client id {platform.client_id}  "
            f"deployments {', '.join(platform.deployment_ids) or '(none yet)'}  ({trust}; {via})"
        )
        click.echo(f"    OIDC {platform.oidc_auth_url}  token {platform.token_url}  JWKS {platform.jwks_url}")


@platform_cli.command("remove")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
def platform_remove(issuer: str, client_id: str) -> None:
    """Remove a registration; launches from it stop, and its learners' links to accounts are forgotten."""
    from lti_bridge.lti.registrations import remove_platform

    _commit(remove_platform, issuer, client_id)
    click.echo(f"Removed {issuer} (client id {client_id}).")


@lti_cli.command("register-url")
def register_url() -> None:
    """Print a one-time URL for LTI Dynamic Registration (Moodle, Canvas, Brightspace, Sakai); 7 days valid."""
    from lti_bridge.lti.dynamic import CODE_DAYS, new_registration_url

    url = _commit(new_registration_url, None)
    click.echo(url)
    click.echo(
        f"Paste it into the platform's dynamic registration field. It registers one platform, once, "
        f"and expires in {CODE_DAYS} days.",
        err=True,
    )


@lti_cli.group("keys")
def keys_cli() -> None:
    """The tool's own signing keys, published at /lti/jwks."""


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key; the previous one stays published until the next rotation."""
    from lti_bridge.lti.keys import rotate_keys

    key = _commit(rotate_keys)
    click.echo(f"New signing key {key.kid}; the previous key stays in the JWKS until the next rotation.")


@keys_cli.command("reencrypt")
def keys_reencrypt() -> None:
    """Encrypt the stored private keys again with the first MENTORNET_KEY_ENCRYPTION_KEY (after changing it)."""
    from lti_bridge.lti.keys import reencrypt_all

    count = _commit(reencrypt_all)
    click.echo(f"Encrypted {count} key(s) again with the first configured key.")
