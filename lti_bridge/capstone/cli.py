"""``mentornet lti tool add|list``: graded capstone tools the bridge launches as an LTI 1.3 platform."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from network_service.urls import public_url

tool_cli = AppGroup(
    "tool", help="Capstone tools: LTI 1.3 tools mentorNET launches as a platform, and grades."
)


@tool_cli.command("add")
@click.argument("name")
@click.option(
    "--course", "course_key", required=True, help="The course whose graduates the tool's pass makes."
)
@click.option("--login-url", required=True, help="The tool's OIDC login initiation URL.")
@click.option("--launch-url", required=True, help="The tool's launch URL (target_link_uri).")
@click.option("--jwks-url", required=True, help="The tool's public key set URL.")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    help="A redirect URI of the tool (repeat); default: launch URL.",
)
@click.option(
    "--pass-mark", type=float, default=0.7, show_default=True, help="Share of the maximum score to pass."
)
def tool_add(
    name: str,
    course_key: str,
    login_url: str,
    launch_url: str,
    jwks_url: str,
    redirect_uris: tuple[str, ...],
    pass_mark: float,
) -> None:
    """Register a capstone tool; prints what its administrator needs."""
    from lti_bridge.capstone.operations import add_tool
    from lti_bridge.lti.cli import _commit

    tool = _commit(
        add_tool,
        name,
        course_key,
        login_url=login_url,
        launch_url=launch_url,
        jwks_url=jwks_url,
        redirect_uris=list(redirect_uris),
        pass_mark=pass_mark,
    )
    base = public_url().rstrip("/")
    click.echo(
        f"Registered the capstone tool {tool.name} for {tool.course_key} (pass mark {tool.pass_mark:g})."
    )
    click.echo("Give the tool's administrator these values:")
    click.echo(f"  Issuer:            {base}")
    click.echo(f"  Client id:         {tool.client_id}")
    click.echo(f"  Deployment id:     {tool.deployment_id}")
    click.echo(f"  Auth (OIDC) URL:   {base}/lti/platform/authorize")
    click.echo(f"  Access token URL:  {base}/lti/platform/token")
    click.echo(f"  Key set (JWKS):    {base}/lti/platform/jwks")
    click.echo(f"Learners start it at {base}/lti/platform/launch/{tool.name}")


@tool_cli.command("list")
def tool_list() -> None:
    """List the capstone tools."""
    import sqlalchemy as sa

    from lti_bridge.capstone.models import CapstoneTool
    from network_service.db import session

    tools = list(session.scalars(sa.select(CapstoneTool).order_by(CapstoneTool.name)))
    if not tools:
        click.echo("No capstone tool yet: register one with `mentornet lti tool add`.")
    for tool in tools:
        click.echo(
            f"{tool.name}  course {tool.course_key}  client id {tool.client_id}  pass mark {tool.pass_mark:g}"
        )
