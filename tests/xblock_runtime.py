"""An LMS-like XBlock runtime for tests: XBlock's own TestRuntime plus the services Open edX gives a block.

Import only after ``pytest.importorskip("xblock")``.
"""

from __future__ import annotations

import gettext
import threading
from importlib import resources

import webob
from werkzeug.serving import make_server
from xblock.field_data import DictFieldData
from xblock.fields import ScopeIds
from xblock.reference.user_service import UserService, XBlockUser
from xblock.runtime import DictKeyValueStore, KvsFieldData
from xblock.test.tools import TestRuntime

from mentornet_xblock.block import MentorNetXBlock
from mentornet_xblock.lms.endpoints import authorize_target, key_set

COURSE = "course-v1:TestOrg+MENTOR+2026"


class SettingsService:
    """What edx-platform's SettingsService does: XBLOCK_SETTINGS[block.block_settings_key]."""

    def __init__(self, xblock_settings: dict):
        self.xblock_settings = xblock_settings

    def get_settings_bucket(self, block, default=None):
        return self.xblock_settings.get(
            getattr(block, "block_settings_key", type(block).__name__), default or {}
        )


class LmsUserService(UserService):
    def __init__(self, user: XBlockUser | None):
        super().__init__()
        self.user = user

    def get_current_user(self):
        return self.user


class RecordingI18n:
    """Translates every string it is asked for (so tests see what went through gettext)."""

    def __init__(self):
        self.asked: list[str] = []
        self._null = gettext.NullTranslations()

    def gettext(self, text):
        self.asked.append(text)
        return self._null.gettext(text)

    ugettext = gettext


def lms_user(
    anonymous_id: str = "anon-42", email: str = "mentor@example.org", staff: bool = False
) -> XBlockUser:
    user = XBlockUser(is_current_user=True, emails=[email], full_name="Mina Mentor")
    user.opt_attrs.update(
        {
            "edx-platform.anonymous_user_id": anonymous_id,
            "edx-platform.username": "mina",
            "edx-platform.is_authenticated": True,
            "edx-platform.user_is_staff": staff,
        }
    )
    return user


class LmsRuntime(TestRuntime):
    __test__ = False

    def __init__(self, xblock_settings: dict, user: XBlockUser | None, base: str = ""):
        self.i18n = RecordingI18n()
        self.settings = SettingsService(xblock_settings)
        self.users = LmsUserService(user)
        super().__init__(
            services={
                "field-data": KvsFieldData(DictKeyValueStore()),
                "settings": self.settings,
                "user": self.users,
                "i18n": self.i18n,
            }
        )
        self.base = base
        self.course_id = COURSE

    def handler_url(self, block, handler_name, suffix="", query="", thirdparty=False):
        return f"{self.base}/handler/{handler_name}" + (f"?{query}" if query else "")

    def local_resource_url(self, block, uri):
        return f"/static/{uri}"

    def resource_url(self, resource):
        return f"/static/{resource}"

    def publish(self, block, event_type, event_data):
        pass


def make_block(runtime: LmsRuntime, **fields) -> MentorNetXBlock:
    def_id = runtime.id_generator.create_definition("mentornet")
    usage_id = runtime.id_generator.create_usage(def_id)
    block = runtime.construct_xblock_from_class(
        MentorNetXBlock, ScopeIds("user-1", "mentornet", def_id, usage_id), field_data=None
    )
    for name, value in fields.items():
        setattr(block, name, value)
    return block


COURSE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Unit 9 · Mentoring migrants</title>
<style>{css}</style></head><body><main><h1>Unit 9: your next steps</h1>{body}</main>
<script>{js}</script><script>MentorNetXBlock(null, document.querySelector(".mentornet-block"));</script>
</body></html>"""


class StandInLms:
    """The LMS: block handlers at /handler/<name>, and /mentornet/lti/authorize and /jwks for the whole site."""

    def __init__(self):
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.runtime: LmsRuntime | None = None
        self.block = None
        self.bucket: dict = {}
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def start(self, bucket: dict, user, **fields) -> None:
        self.bucket = bucket
        self.runtime = LmsRuntime({"mentornet": bucket}, user, base=self.url)
        self.block = make_block(self.runtime, **{"network_slug": "test-net", **fields})
        self.thread.start()

    def __call__(self, environ, start_response):
        request = webob.Request(environ)
        if request.path.startswith("/handler/"):
            response = self.runtime.handle(self.block, request.path.rsplit("/", 1)[1], request)
        elif request.path == "/course":  # a course page with the block's student view, as the LMS renders it
            fragment = self.block.student_view({})
            css = "".join(r.data for r in fragment.resources if r.mimetype == "text/css")
            js = "".join(r.data for r in fragment.resources if r.mimetype == "application/javascript")
            html = COURSE_PAGE.format(css=css, body=fragment.body_html(), js=js)
            response = webob.Response(text=html, content_type="text/html", charset="utf-8")
        elif request.path == "/static/public/lti-autosubmit.js":  # the runtime's local_resource_url
            script = (resources.files("mentornet_xblock") / "public" / "lti-autosubmit.js").read_bytes()
            response = webob.Response(script, content_type="text/javascript")
        elif request.path == "/mentornet/lti/authorize":
            status, target = authorize_target(self.bucket, dict(request.params.items()))
            response = (
                webob.Response(status=status, location=target)
                if status == 302
                else webob.Response(text=target, status=status, charset="utf-8")
            )
        elif request.path == "/mentornet/lti/jwks":
            status, body = key_set(self.bucket)
            response = webob.Response(body.encode(), status=status, content_type="application/json")
        else:
            response = webob.Response("not found", status=404)
        return response(environ, start_response)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


__all__ = ["COURSE", "DictFieldData", "LmsRuntime", "StandInLms", "lms_user", "make_block"]
