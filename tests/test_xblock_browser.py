"""In headless Chromium: a course page with the block; its iframe launches the panel over LTI 1.3 and resizes.

Skipped without Playwright or Chromium (see docs/browser-tests.md). With MENTORNET_TEST_SCREENSHOTS=1 it retakes
docs/screenshots/xblock-panel.png.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

pytest.importorskip("xblock")
sync_api = pytest.importorskip("playwright.sync_api")

from click.testing import CliRunner  # noqa: E402
from flask.cli import ScriptInfo  # noqa: E402

from network_service.cli import main  # noqa: E402
from tests.live import live_service  # noqa: E402
from tests.xblock_runtime import StandInLms, lms_user  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.live]
CHROMIUM = os.environ.get("MENTORNET_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "xblock-panel.png"


@pytest.fixture
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield browser
        browser.close()


def test_a_learner_sees_the_panel_inside_the_course_page(tmp_path, chromium):
    lms = StandInLms()
    with live_service(tmp_path, smtp_running=False, OUTBOX_WORKER=False) as live:
        result = CliRunner().invoke(
            main,
            ["lti", "platform", "add", "--openedx", lms.url, "--trust-email"],
            obj=ScriptInfo(create_app=lambda: live.app),
        )
        assert result.exit_code == 0, result.output
        bucket = ast.literal_eval(result.stdout.split('XBLOCK_SETTINGS["mentornet"] = ', 1)[1])
        lms.start(bucket, lms_user(anonymous_id="anon-mina", email="mentor@example.org"), height=200)
        try:
            context = chromium.new_context(viewport={"width": 360, "height": 800}, locale="en-GB")
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto(f"{lms.url}/course", wait_until="load")
            frame_element = page.locator("iframe.mentornet-frame")
            assert frame_element.get_attribute("title") == "Mentor network"
            panel = page.frame_locator("iframe.mentornet-frame")
            sync_api.expect(panel.get_by_text("You are a member.")).to_be_visible(timeout=60_000)
            sync_api.expect(panel.get_by_text("Test Network")).to_be_visible()
            # The panel said how tall it is (lti.frameResize); the block's script followed.
            page.wait_for_function(
                "document.querySelector('iframe.mentornet-frame').getAttribute('height') !== '480'",
                timeout=30_000,
            )
            if os.environ.get("MENTORNET_TEST_SCREENSHOTS"):
                page.screenshot(path=str(SCREENSHOT), full_page=True)
            page.keyboard.press("Tab")  # the keyboard reaches into the panel
            focused = panel.locator(":focus")
            sync_api.expect(focused).to_have_count(1)
            context.close()
        finally:
            lms.stop()
