"""``MentorNetXBlock``: the mentor network inside a course page, launched over LTI 1.3 with this block as platform.

The learner's page shows an iframe (or a button that opens a new window). Its address is the block's
``lti_login`` handler, which starts the OIDC third-party login at mentorNET's ``/lti/login``. mentorNET sends the
browser back to the LMS's authorisation URL; the LMS-wide view (``mentornet_xblock.lms``) reads the signed
``lti_message_hint`` and hands the request to this block's ``lti_authorize`` handler, which checks it and posts
the signed id_token to mentorNET's ``/lti/launch``. mentorNET then shows ``/embed/panel`` (or the network).

Identity: ``sub`` is the learner's anonymous id in the course; username, name and e-mail go only when the
operator sets ``SHARE_PII``. The course key is the LTI context, the block's usage id the resource link.
"""

from __future__ import annotations

import html
import json
import re
import time
from importlib import resources
from typing import Any

from web_fragments.fragment import Fragment
from webob import Response
from xblock.core import XBlock
from xblock.fields import Dict, Integer, Scope, String

from lti_bridge.platform.core import (
    AuthRequestRefused,
    LaunchUser,
    ToolRegistration,
    build_launch,
    check_auth_request,
    launch_form_html,
    login_initiation_url,
    read_message_hint,
    sign_message_hint,
)
from mentornet_xblock.config import SETTINGS_KEY, OperatorSettings, SettingsMissing, read_settings


def _(text: str) -> str:
    """Marks a string for extraction; it is translated when shown, through the runtime's i18n service."""
    return text


LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
COURSE_OFFERING = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"
MODES = ("iframe", "window")
MIN_HEIGHT, MAX_HEIGHT = 160, 2000
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
NONCES_KEPT = 50


@XBlock.needs("i18n")
@XBlock.wants("settings", "user")
class MentorNetXBlock(XBlock):
    """The mentor network of the course, in the course."""

    block_settings_key = SETTINGS_KEY
    has_author_view = True
    icon_class = "other"

    display_name = String(
        display_name=_("Title"),
        help=_("The title learners see above the panel."),
        scope=Scope.settings,
        default=_("Mentor network"),
    )
    network_slug = String(
        display_name=_("Network"),
        help=_(
            "The short name of the network in mentorNET (the last part of its address). Leave it empty to "
            "show the network linked to this course."
        ),
        scope=Scope.settings,
        default="",
    )
    display_mode = String(
        display_name=_("Display"),
        help=_("A panel inside the page, or a button that opens the network in a new window."),
        scope=Scope.settings,
        default="iframe",
        values=[
            {"display_name": _("Panel in the page"), "value": "iframe"},
            {"display_name": _("Button that opens a new window"), "value": "window"},
        ],
    )
    height = Integer(
        display_name=_("Height"),
        help=_("The height of the panel in pixels, until the panel says how tall it is."),
        scope=Scope.settings,
        default=480,
    )
    spent_nonces = Dict(scope=Scope.user_state, default={})  # nonce -> expiry; each tool nonce signs once

    # -- helpers ------------------------------------------------------------------------------------------

    def _(self, text: str) -> str:
        return self.runtime.service(self, "i18n").gettext(text)

    def _settings(self) -> OperatorSettings:
        service = self.runtime.service(self, "settings")
        bucket = service.get_settings_bucket(self, default={}) if service is not None else {}
        return read_settings(bucket)

    def _user(self) -> Any:
        service = self.runtime.service(self, "user")
        return service.get_current_user() if service is not None else None

    def _anonymous_id(self) -> str | None:
        user = self._user()
        anonymous = user.opt_attrs.get("edx-platform.anonymous_user_id") if user is not None else None
        return str(anonymous) if anonymous else None

    def _course_key(self) -> str:
        key = getattr(self.scope_ids.usage_id, "context_key", None) or getattr(
            self.runtime, "course_id", None
        )
        return str(key or "")

    def _usage_id(self) -> str:
        return str(self.scope_ids.usage_id)

    def _handler(self, name: str, settings: OperatorSettings | None = None, query: str = "") -> str:
        url = self.runtime.handler_url(self, name, query=query)
        if settings is not None and url.startswith("/"):  # the tool needs an absolute address
            url = settings.issuer + url
        return url

    def _registration(self, settings: OperatorSettings, target: str) -> ToolRegistration:
        return ToolRegistration(
            issuer=settings.issuer,
            client_id=settings.client_id,
            deployment_id=settings.deployment_id,
            key=settings.key,
            oidc_login_url=settings.tool_login_url,
            launch_url=target,
            redirect_uris=[settings.tool_launch_url],
        )

    def _target(self, settings: OperatorSettings, mode: str) -> str:
        if mode == "window":
            return (
                f"{settings.network_url}/networks/{self.network_slug}"
                if self.network_slug
                else settings.network_url + "/"
            )
        return settings.panel_url

    def _missing_message(self, exc: SettingsMissing) -> str:
        return self._(
            "The mentor network is not set up on this site yet. The site operator adds these settings to "
            'XBLOCK_SETTINGS["mentornet"]: %(names)s. See docs/openedx-xblock.md.'
        ) % {"names": ", ".join(exc.problems)}

    def _page(self, body: str, status: int = 200) -> Response:
        response = Response(body, status=status, content_type="text/html", charset="utf-8")
        response.headers["Cache-Control"] = "no-store"
        return response

    def _refused(self, message: str, check: str) -> Response:
        title = html.escape(self._("The mentor network could not be opened"))
        detail = html.escape(
            self._("Reload the course page and try again. If it happens again, tell the course team.")
        )
        return self._page(
            f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f"<h1>{title}</h1><p>{html.escape(message)}</p><p>{detail}</p>"
            f"<p><small>LTI check: {html.escape(check)}</small></p></body></html>",
            400,
        )

    @staticmethod
    def _static(path: str) -> str:
        return (resources.files("mentornet_xblock") / "static" / path).read_text(encoding="utf-8")

    # -- views --------------------------------------------------------------------------------------------

    def student_view(self, context: dict | None = None) -> Fragment:
        title = html.escape(self._(self.display_name))
        try:
            settings = self._settings()
        except SettingsMissing:
            body = html.escape(self._("The mentor network is not available here yet."))
            return Fragment(
                f'<section class="mentornet-block"><h2>{title}</h2><p role="status">{body}</p></section>'
            )
        if self._anonymous_id() is None:
            body = html.escape(self._("Sign in to the course to see the mentor network."))
            return Fragment(f'<section class="mentornet-block"><h2>{title}</h2><p>{body}</p></section>')
        window_url = html.escape(self._handler("lti_login", query="mode=window"))
        open_label = html.escape(self._("Open the mentor network in a new window"))
        if self.display_mode == "window":
            intro = html.escape(
                self._("Meet the mentors of this course: ask for help, join the conversations.")
            )
            markup = (
                f'<section class="mentornet-block"><h2>{title}</h2><p>{intro}</p>'
                f'<p><a class="mentornet-open" href="{window_url}" target="_blank" rel="noopener">{open_label}</a>'
                "</p></section>"
            )
        else:
            frame_url = html.escape(self._handler("lti_login", query="mode=iframe"))
            height = max(MIN_HEIGHT, min(MAX_HEIGHT, int(self.height or 480)))
            markup = (
                f'<section class="mentornet-block"><h2>{title}</h2>'
                f'<iframe class="mentornet-frame" src="{frame_url}" title="{title}" height="{height}" '
                f'width="100%" tabindex="0" loading="lazy" data-origin="{html.escape(settings.network_url)}" '
                'allow="clipboard-write" referrerpolicy="origin"></iframe>'
                f'<p><a class="mentornet-open" href="{window_url}" target="_blank" rel="noopener">{open_label}</a>'
                "</p></section>"
            )
        fragment = Fragment(markup)
        fragment.add_css(self._static("css/mentornet.css"))
        fragment.add_javascript(self._static("js/mentornet.js"))
        fragment.initialize_js("MentorNetXBlock")
        return fragment

    def author_view(self, context: dict | None = None) -> Fragment:
        """The Studio preview: what is set, and what is missing; no launch (Studio has no learner)."""
        rows = [
            (self._("Title"), self._(self.display_name)),
            (self._("Network"), self.network_slug or self._("the network linked to this course")),
            (
                self._("Display"),
                self._("Panel in the page")
                if self.display_mode == "iframe"
                else self._("Button that opens a new window"),
            ),
            (self._("Height"), self._("%(pixels)s pixels") % {"pixels": self.height}),
        ]
        items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows)
        try:
            settings = self._settings()
        except SettingsMissing as exc:
            status = (
                f'<p class="mentornet-warning" role="alert">{html.escape(self._missing_message(exc))}</p>'
            )
        else:
            status = (
                "<p>"
                + html.escape(
                    self._("Learners see their place in the mentor network at %(url)s.")
                    % {"url": settings.network_url}
                )
                + "</p>"
            )
        heading = html.escape(self._("mentorNET panel"))
        return Fragment(
            f'<section class="mentornet-author"><h3>{heading}</h3><dl>{items}</dl>{status}</section>'
        )

    def studio_view(self, context: dict | None = None) -> Fragment:
        def field(name: str, label: str, control: str, hint: str) -> str:
            return (
                f'<li class="field"><label for="mentornet-{name}">{html.escape(label)}</label>{control}'
                f'<p class="tip" id="mentornet-{name}-help">{html.escape(hint)}</p></li>'
            )

        def attrs(name: str) -> str:
            return f'id="mentornet-{name}" name="{name}" aria-describedby="mentornet-{name}-help"'

        options = "".join(
            f'<option value="{value}"{" selected" if self.display_mode == value else ""}>{html.escape(label)}</option>'
            for value, label in (
                ("iframe", self._("Panel in the page")),
                ("window", self._("Button that opens a new window")),
            )
        )
        fields = [
            field(
                "display_name",
                self._("Title"),
                f'<input type="text" {attrs("display_name")} maxlength="200" required '
                f'value="{html.escape(self.display_name)}">',
                self._("The title learners see above the panel."),
            ),
            field(
                "network_slug",
                self._("Network"),
                f'<input type="text" {attrs("network_slug")} maxlength="100" pattern="[a-z0-9][a-z0-9-]*" '
                f'value="{html.escape(self.network_slug)}">',
                self._(
                    "The short name of the network in mentorNET (the last part of its address). Leave it "
                    "empty to show the network linked to this course."
                ),
            ),
            field(
                "display_mode",
                self._("Display"),
                f"<select {attrs('display_mode')}>{options}</select>",
                self._("A panel inside the page, or a button that opens the network in a new window."),
            ),
            field(
                "height",
                self._("Height"),
                f'<input type="number" {attrs("height")} min="{MIN_HEIGHT}" max="{MAX_HEIGHT}" '
                f'value="{int(self.height or 480)}">',
                self._("The height of the panel in pixels, until the panel says how tall it is."),
            ),
        ]
        save, cancel = html.escape(self._("Save")), html.escape(self._("Cancel"))
        markup = (
            '<div class="mentornet-studio editor-with-buttons"><form class="mentornet-settings" novalidate>'
            f'<ul class="list-input settings-list">{"".join(fields)}</ul>'
            '<p class="mentornet-errors" role="alert" aria-live="assertive"></p>'
            '<div class="xblock-actions"><ul>'
            f'<li class="action-item"><button type="submit" class="button action-primary save-button">{save}</button></li>'
            f'<li class="action-item"><button type="button" class="button cancel-button">{cancel}</button></li>'
            "</ul></div></form></div>"
        )
        fragment = Fragment(markup)
        fragment.add_javascript(self._static("js/mentornet_studio.js"))
        fragment.initialize_js("MentorNetStudio")
        return fragment

    @XBlock.json_handler
    def save_settings(self, data: dict, suffix: str = "") -> dict:
        """The Studio form's values, checked; the errors name the fields."""
        errors: dict[str, str] = {}
        title = str(data.get("display_name", "")).strip()
        if not title or len(title) > 200:
            errors["display_name"] = self._("Give a title of at most 200 characters.")
        slug = str(data.get("network_slug", "")).strip().lower()
        if slug and not SLUG.match(slug):
            errors["network_slug"] = self._(
                "Use only small letters, digits and dashes, as in the network's address."
            )
        mode = str(data.get("display_mode", ""))
        if mode not in MODES:
            errors["display_mode"] = self._("Choose a panel or a button.")
        try:
            height = int(data.get("height", 0))
        except (TypeError, ValueError):
            height = 0
        if not MIN_HEIGHT <= height <= MAX_HEIGHT:
            errors["height"] = self._("Give a height between %(min)s and %(max)s pixels.") % {
                "min": MIN_HEIGHT,
                "max": MAX_HEIGHT,
            }
        if errors:
            return {"result": "error", "errors": errors}
        self.display_name, self.network_slug, self.display_mode, self.height = title, slug, mode, height
        return {"result": "success"}

    # -- LTI 1.3 platform handlers ------------------------------------------------------------------------

    @XBlock.handler
    def lti_login(self, request, suffix: str = "") -> Response:
        """Start the OIDC third-party login at mentorNET (the iframe's, or the new window's, address)."""
        try:
            settings = self._settings()
        except SettingsMissing as exc:
            return self._refused(self._missing_message(exc), "settings")
        anonymous = self._anonymous_id()
        if anonymous is None:
            return self._refused(self._("Sign in to the course to see the mentor network."), "login_hint")
        mode = "window" if request.GET.get("mode") == "window" else "iframe"
        target = self._target(settings, mode)
        hint = sign_message_hint(
            settings.key,
            client_id=settings.client_id,
            login_hint=anonymous,
            authorize_url=self._handler("lti_authorize", settings),
            resource=self._usage_id(),
            extra={"t": target, "m": mode},
        )
        url = login_initiation_url(
            self._registration(settings, target),
            login_hint=anonymous,
            lti_message_hint=hint,
            target_link_uri=target,
        )
        response = Response(status=302, location=url)
        response.headers["Cache-Control"] = "no-store"
        return response

    @XBlock.handler
    def lti_authorize(self, request, suffix: str = "") -> Response:
        """The tool's authorisation request: check it, then post the signed id_token to the tool."""
        params = dict(request.params.items())
        try:
            settings = self._settings()
        except SettingsMissing as exc:
            return self._refused(self._missing_message(exc), "settings")
        anonymous = self._anonymous_id()
        try:
            if anonymous is None:
                raise AuthRequestRefused("login_hint", "nobody is signed in")
            hint = read_message_hint(
                settings.key, str(params.get("lti_message_hint") or ""), client_id=settings.client_id
            )
            if hint.get("sub") != anonymous or hint.get("r") != self._usage_id():
                raise AuthRequestRefused("lti_message_hint", "the login was started by another user or block")
            target, mode = str(hint.get("t") or settings.panel_url), str(hint.get("m") or "iframe")
            registration = self._registration(settings, target)
            check_auth_request(
                registration, params, login_hint=anonymous, lti_message_hint=params.get("lti_message_hint")
            )
            self._spend_nonce(str(params["nonce"]))
            form = build_launch(
                registration,
                params,
                user=self._launch_user(settings, anonymous),
                resource_link={"id": self._usage_id(), "title": self.display_name},
                context=self._context(),
                custom=self._custom(),
                launch_presentation={"document_target": "window" if mode == "window" else "iframe"},
                target_link_uri=target,
            )
        except AuthRequestRefused as exc:
            return self._refused(self._("The sign-in request from mentorNET was refused."), exc.check)
        try:  # a script file, so an LMS with a strict Content-Security-Policy runs it too
            script = self.runtime.local_resource_url(self, "public/lti-autosubmit.js")
        except NotImplementedError:
            script = None
        return self._page(
            launch_form_html(
                form, title=self._("Opening the mentor network"), button=self._("Continue"), script_src=script
            )
        )

    @XBlock.handler
    def jwks(self, request, suffix: str = "") -> Response:
        """The platform's public key set (the LMS-wide ``/mentornet/lti/jwks`` serves the same keys)."""
        try:
            settings = self._settings()
        except SettingsMissing:
            return Response(
                json.dumps({"keys": []}), status=503, content_type="application/json", charset="utf-8"
            )
        return Response(json.dumps(settings.key.jwks()), content_type="application/json", charset="utf-8")

    def _spend_nonce(self, nonce: str) -> None:
        now = time.time()
        spent = {key: until for key, until in dict(self.spent_nonces).items() if until > now}
        if nonce in spent:
            raise AuthRequestRefused("nonce", "this nonce was used before (a replayed request)")
        spent[nonce] = now + 3600
        if len(spent) > NONCES_KEPT:
            spent = dict(sorted(spent.items(), key=lambda item: item[1])[-NONCES_KEPT:])
        self.spent_nonces = spent

    def _launch_user(self, settings: OperatorSettings, anonymous: str) -> LaunchUser:
        user = self._user()
        staff = bool(user.opt_attrs.get("edx-platform.user_is_staff")) if user is not None else False
        launch_user = LaunchUser(sub=anonymous, roles=[INSTRUCTOR if staff else LEARNER])
        if settings.share_pii and user is not None:
            launch_user.name = user.full_name or None
            launch_user.email = (user.emails or [None])[0]
            launch_user.username = user.opt_attrs.get("edx-platform.username") or None
        return launch_user

    def _context(self) -> dict | None:
        course = self._course_key()
        return {"id": course, "type": [COURSE_OFFERING]} if course else None

    def _custom(self) -> dict[str, str]:
        custom = {"mentornet_course": self._course_key()}
        if self.network_slug:
            custom["mentornet_network"] = self.network_slug
        return {key: value for key, value in custom.items() if value}

    @staticmethod
    def workbench_scenarios() -> list[tuple[str, str]]:
        return [
            ("mentorNET panel", '<mentornet display_name="Mentor network"/>'),
            ("mentorNET button", '<mentornet display_name="Mentor network" display_mode="window"/>'),
        ]
