"""Sign in through the real flow: the form, the e-mail in the demo mailbox, the confirmation button."""

from __future__ import annotations

import html
import re
import time

import requests

_CSRF_INPUT = re.compile(r"<input[^>]*\bname=\"csrf_token\"[^>]*>")
_VALUE = re.compile(r"\bvalue=\"([^\"]*)\"")


class SignInFailed(RuntimeError):
    pass


def csrf_token(page: str) -> str:
    tag = _CSRF_INPUT.search(page)
    value = _VALUE.search(tag.group(0)) if tag else None
    if value is None:
        raise SignInFailed("the page has no CSRF token")
    return html.unescape(value.group(1))


def _expect(response: requests.Response, status: int, step: str) -> requests.Response:
    if response.status_code != status:
        raise SignInFailed(
            f"{step}: expected HTTP {status}, got {response.status_code}: {response.text[:300]!r}"
        )
    return response


def _sign_in_link(mailbox_page: str, base_url: str, email: str) -> str | None:
    """The newest sign-in link addressed to ``email`` (the mailbox lists the newest mail first)."""
    link = re.compile(re.escape(base_url) + r"/sign-in/[A-Za-z0-9_-]+")
    for article in mailbox_page.split("<article")[1:]:
        if email in article and (found := link.search(article)):
            return found.group(0)
    return None


def sign_in(session: requests.Session, base_url: str, email: str, timeout: float = 10) -> None:
    """Leave ``session`` signed in as ``email``; raise SignInFailed when any step does not behave."""
    form = _expect(session.get(f"{base_url}/sign-in", timeout=timeout), 200, "GET /sign-in")
    sent = session.post(
        f"{base_url}/sign-in",
        data={"csrf_token": csrf_token(form.text), "email": email, "next": ""},
        timeout=timeout,
        allow_redirects=False,
    )
    _expect(sent, 200, "POST /sign-in")

    link = None
    for _attempt in range(20):  # the mail is committed with the request; allow for a slow disk anyway
        mailbox = _expect(session.get(f"{base_url}/mailbox", timeout=timeout), 200, "GET /mailbox")
        link = _sign_in_link(mailbox.text, base_url, email)
        if link:
            break
        time.sleep(0.25)
    if link is None:
        raise SignInFailed(f"no sign-in link for {email} in /mailbox")

    confirm = _expect(session.get(link, timeout=timeout), 200, "GET the sign-in link")
    done = session.post(
        link, data={"csrf_token": csrf_token(confirm.text)}, timeout=timeout, allow_redirects=False
    )
    _expect(done, 302, "POST the sign-in confirmation")
    home = _expect(
        session.get(f"{base_url}/", timeout=timeout, allow_redirects=False), 200, "GET / signed in"
    )
    if "Sign out" not in home.text:
        raise SignInFailed("the home page after signing in shows no 'Sign out' button")
