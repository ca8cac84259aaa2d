"""The part of xAPI 1.0.3 statements the bridge needs: validation, and passes of a course.

event-routing-backends (Open edX), Moodle's logstore_xapi and other LRS forwarders send statements; only the
verbs ``passed`` and ``completed`` on a course activity provision. The statement id dedupes.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from lti_bridge.completions import Completion, Ignored, PayloadError, as_grade

VERSION = "1.0.3"
PASSED = "http://adlnet.gov/expapi/verbs/passed"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
# event-routing-backends names a course "<LMS_ROOT_URL>/course/<course id>"
_OPENEDX_COURSE = re.compile(r"/course/(course-v1:[^/?#]+)/?$")


def supported_version(header: str | None) -> bool:
    return bool(header) and header.strip().startswith("1.0")


def _iri(value: Any, field: str) -> str:
    if not isinstance(value, str) or " " in value or not urlsplit(value).scheme:
        raise PayloadError(f"{field} must be an absolute IRI", field)
    return value


def _agent(actor: Any, field: str) -> dict[str, Any]:
    if not isinstance(actor, dict):
        raise PayloadError(f"{field} must be an object", field)
    object_type = actor.get("objectType", "Agent")
    if object_type not in ("Agent", "Group"):
        raise PayloadError(f"{field}/objectType must be Agent or Group", f"{field}/objectType")
    present = [ifi for ifi in IFIS if ifi in actor]
    if object_type == "Agent" and len(present) != 1:
        raise PayloadError(f"{field} must have exactly one of {', '.join(IFIS)}", field)
    if len(present) > 1:
        raise PayloadError(f"{field} must have at most one of {', '.join(IFIS)}", field)
    if object_type == "Group" and not present and not isinstance(actor.get("member"), list):
        raise PayloadError(f"{field}: an anonymous group needs a member list", f"{field}/member")
    if "mbox" in actor and not (isinstance(actor["mbox"], str) and actor["mbox"].startswith("mailto:")):
        raise PayloadError(f"{field}/mbox must be a mailto: IRI", f"{field}/mbox")
    if "mbox_sha1sum" in actor and not _SHA1.match(str(actor["mbox_sha1sum"])):
        raise PayloadError(f"{field}/mbox_sha1sum must be 40 hexadecimal digits", f"{field}/mbox_sha1sum")
    if "openid" in actor:
        _iri(actor["openid"], f"{field}/openid")
    if "account" in actor:
        account = actor["account"]
        if not isinstance(account, dict) or not isinstance(account.get("name"), str):
            raise PayloadError(f"{field}/account needs homePage and name", f"{field}/account")
        _iri(account.get("homePage"), f"{field}/account/homePage")
    return actor


def validate(statement: Any, field: str = "") -> dict[str, Any]:
    """Check one statement; returns it with an id (generated when the sender gave none, as an LRS does)."""
    if not isinstance(statement, dict):
        raise PayloadError(f"{field or 'the statement'} must be an object", field)
    if "id" in statement:
        try:
            uuid.UUID(str(statement["id"]))
        except ValueError as exc:
            raise PayloadError(f"{field}/id must be a UUID", f"{field}/id") from exc
    _agent(statement.get("actor"), f"{field}/actor")
    verb = statement.get("verb")
    if not isinstance(verb, dict):
        raise PayloadError(f"{field}/verb must be an object", f"{field}/verb")
    _iri(verb.get("id"), f"{field}/verb/id")
    target = statement.get("object")
    if not isinstance(target, dict):
        raise PayloadError(f"{field}/object must be an object", f"{field}/object")
    if target.get("objectType", "Activity") == "Activity":
        _iri(target.get("id"), f"{field}/object/id")
    result = statement.get("result")
    if result is not None:
        if not isinstance(result, dict):
            raise PayloadError(f"{field}/result must be an object", f"{field}/result")
        if "success" in result and not isinstance(result["success"], bool):
            raise PayloadError(f"{field}/result/success must be true or false", f"{field}/result/success")
    return {**statement, "id": str(statement.get("id") or uuid.uuid4())}


def course_key_of(activity_id: str) -> str:
    match = _OPENEDX_COURSE.search(activity_id)
    return match.group(1) if match else activity_id


def identity_of(actor: dict[str, Any]) -> dict[str, Any]:
    identity: dict[str, Any] = {"platform": "xapi"}
    if isinstance(actor.get("name"), str):
        identity["name"] = actor["name"]
    if "mbox" in actor:
        identity["email"] = actor["mbox"].removeprefix("mailto:")
    elif "account" in actor:
        identity["account"] = {"homePage": actor["account"]["homePage"], "name": actor["account"]["name"]}
    elif "mbox_sha1sum" in actor:
        identity["mbox_sha1sum"] = actor["mbox_sha1sum"]
    elif "openid" in actor:
        identity["openid"] = actor["openid"]
    return identity


def interpret(statement: dict[str, Any]) -> Completion | Ignored:
    """A validated statement as a course completion, or the reason it is not one."""
    verb = statement["verb"]["id"]
    target = statement["object"]
    definition = target.get("definition") if isinstance(target.get("definition"), dict) else {}
    if verb not in (PASSED, COMPLETED):
        return Ignored(statement["id"], f"verb {verb}")
    if target.get("objectType", "Activity") != "Activity" or definition.get("type") != COURSE_TYPE:
        return Ignored(statement["id"], "object is not a course activity")
    result = statement.get("result") if isinstance(statement.get("result"), dict) else {}
    score = result.get("score") if isinstance(result.get("score"), dict) else {}
    identity = identity_of(statement["actor"])
    context = statement.get("context") if isinstance(statement.get("context"), dict) else {}
    if isinstance(context.get("language"), str):
        identity["locale"] = context["language"]  # RFC 5646, e.g. "de-DE"
    return Completion(
        event_id=statement["id"],
        course_key=course_key_of(target["id"]),
        identity=identity,
        kind="passed",
        is_passing=result.get("success", True) is not False,
        grade=as_grade(score.get("scaled")),
    )
