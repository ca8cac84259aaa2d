"""Capstone tools: registration, launches, the token endpoint's store, and scores that provision graduates.

Plain functions over ``lti_bridge.platform.core``; they flush, the request (or the command) commits.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lti_bridge.capstone.models import CapstoneLaunch, CapstoneTool, SpentValue
from lti_bridge.lti.keys import current_key, private_pem
from lti_bridge.platform.core import (
    SCOPE_LINEITEM_READONLY,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    ToolRegistration,
    completes,
)
from lti_bridge.platform.keys import PlatformKey
from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.courses.operations import ProvisionResult, provision_graduate
from network_service.db import session, utcnow
from network_service.errors import Conflict, InvalidInput, NotFound

SOURCE = "lti_platform_ags"
SCOPES = (SCOPE_SCORE, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY)
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


def _url(value: str, field: str) -> str:
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or len(value) > 500:
        raise InvalidInput("Give a full URL starting with https://.", field=field)
    return value


def add_tool(
    name: str,
    course_key: str,
    *,
    login_url: str,
    launch_url: str,
    jwks_url: str,
    redirect_uris: list[str],
    pass_mark: float = 0.7,
) -> CapstoneTool:
    name = (name or "").strip().lower()
    if not NAME.match(name):
        raise InvalidInput("Use small letters, digits and dashes for the tool's name.", field="name")
    course_key = (course_key or "").strip()
    if not course_key or len(course_key) > 255:
        raise InvalidInput("Give the key of the course the tool belongs to.", field="course_key")
    if not 0 < pass_mark <= 1:
        raise InvalidInput(
            "The pass mark is a share of the maximum score, above 0 and at most 1.", field="pass_mark"
        )
    if session.scalar(sa.select(CapstoneTool.id).where(CapstoneTool.name == name)) is not None:
        raise Conflict("A tool with this name is already registered.", field="name")
    launch_url = _url(launch_url, "launch_url")
    uris = [_url(uri, "redirect_uri") for uri in (redirect_uris or [launch_url])]
    tool = CapstoneTool(
        name=name,
        course_key=course_key,
        client_id=f"capstone-{secrets.token_hex(12)}",
        deployment_id="1",
        login_url=_url(login_url, "login_url"),
        launch_url=launch_url,
        jwks_url=_url(jwks_url, "jwks_url"),
        redirect_uris=list(dict.fromkeys(uris)),
        pass_mark=pass_mark,
    )
    session.add(tool)
    session.flush()
    record("lti.capstone.add", target=tool, name=name, course_key=course_key, pass_mark=pass_mark)
    return tool


def get_tool(name: str) -> CapstoneTool:
    tool = session.scalar(sa.select(CapstoneTool).where(CapstoneTool.name == name))
    if tool is None:
        raise NotFound("No capstone tool has this name.")
    return tool


def tool_by_client_id(client_id: str) -> CapstoneTool | None:
    return session.scalar(sa.select(CapstoneTool).where(CapstoneTool.client_id == client_id))


def platform_key() -> PlatformKey:
    """The bridge signs as a platform with the tool side's current key (its JWKS is published at both URLs)."""
    return PlatformKey(private_pem(current_key()))


def registration(tool: CapstoneTool, issuer: str) -> ToolRegistration:
    return ToolRegistration(
        issuer=issuer,
        client_id=tool.client_id,
        deployment_id=tool.deployment_id,
        key=platform_key(),
        oidc_login_url=tool.login_url,
        launch_url=tool.launch_url,
        redirect_uris=tool.redirect_uris,
        tool_jwks_url=tool.jwks_url,
        scopes=SCOPES,
    )


def launch_for(tool: CapstoneTool, person: Person) -> CapstoneLaunch:
    """The person's opaque id at this tool, made on their first launch."""
    query = sa.select(CapstoneLaunch).where(
        CapstoneLaunch.tool_id == tool.id, CapstoneLaunch.person_id == person.id
    )
    launch = session.scalar(query)
    if launch is None:
        try:
            with session.begin_nested():
                launch = CapstoneLaunch(tool=tool, person=person, sub=secrets.token_hex(16))
                session.add(launch)
        except IntegrityError:  # the same person's other tab won
            launch = session.scalar(query)
    return launch


def launched(tool: CapstoneTool, sub: str) -> CapstoneLaunch | None:
    return session.scalar(
        sa.select(CapstoneLaunch).where(CapstoneLaunch.tool_id == tool.id, CapstoneLaunch.sub == sub)
    )


class DatabaseReplayGuard:
    """``ReplayGuard`` on the ``lti_platform_spent`` table: one insert wins, in every worker."""

    def spend(self, value: str, expires_at: float) -> bool:
        now = utcnow()
        session.execute(
            sa.delete(SpentValue)
            .where(SpentValue.expires_at < now)
            .execution_options(synchronize_session=False)
        )
        until = dt.datetime.fromtimestamp(expires_at, dt.UTC)
        try:
            with session.begin_nested():
                session.add(SpentValue(value=value[:255], expires_at=until))
        except IntegrityError:
            return False
        return True


def record_score(tool: CapstoneTool, score: dict[str, Any]) -> ProvisionResult | None:
    """A validated score; Completed + FullyGraded at or above the pass mark provisions the learner."""
    if not completes(score, tool.pass_mark):
        return None
    launch = launched(tool, score["userId"])
    if launch is None:
        return None
    learner = {"email": launch.person.email, "lti_capstone": tool.name, "lti_sub": launch.sub}
    return provision_graduate(
        tool.course_key,
        learner,
        f"lti-ags:{tool.id}:{launch.sub}",
        SOURCE,
        payload={"score": score},
        grade=score["scoreGiven"] / score["scoreMaximum"],
    )
