"""A small client for the Open edX LMS REST APIs that reconciliation reads: grades and certificates.

Authentication is OAuth2 client credentials with a JWT (``POST /oauth2/access_token``, HTTP Basic client id and
secret, ``grant_type=client_credentials&token_type=jwt``), sent as ``Authorization: JWT <token>``. The token is
reused until shortly before it expires and fetched again once when the LMS answers 401. Connection errors,
timeouts, 429 and 5xx are retried with back-off; anything else, or running out of attempts, raises ``LmsError``
naming the URL and the status. Neither the client secret nor a token ever reaches a log line or a message.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

log = logging.getLogger(__name__)

TIMEOUT = (5.0, 30.0)  # seconds: connect, read (a page of grades is computed while we wait)
# seconds: a whole answer, however slowly it trickles in (the read timeout is per chunk: an LMS that sends a
# byte every few seconds would otherwise hold a run for ever)
TOTAL_TIMEOUT = 90.0  # covers the status line and headers too (``_Watchdog``), not only the body
ATTEMPTS = 4
BACKOFF = 0.5  # seconds before the first retry; doubled for each further one
MAX_RETRY_AFTER = 30.0  # seconds: the longest Retry-After we honour before trying again
SETTINGS = ("OPENEDX_LMS_URL", "OPENEDX_CLIENT_ID", "OPENEDX_CLIENT_SECRET")
NO_CERTIFICATE = {"no_certificate_for_user", "no_certificate_configuration_for_course"}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class LmsError(RuntimeError):
    """The LMS could not be reached, refused, or answered something unusable; the message says which URL."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class LmsConfigurationError(LmsError):
    """The settings needed to reach the LMS are missing or unusable."""


def _hint(status: int) -> str:
    if status == 403:
        return (
            " (the user of the OAuth2 application needs global staff access to read every learner's grades; "
            "see docs/reconciliation.md)"
        )
    if status == 404:
        return " (the LMS does not know this course, or OPENEDX_LMS_URL points elsewhere)"
    return ""


class OpenEdxClient:
    def __init__(
        self,
        lms_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: tuple[float, float] = TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.lms_url = lms_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._http = requests.Session()
        self._http.headers["User-Agent"] = "mentorNET-reconcile"
        for prefix in ("http://", "https://"):
            self._http.mount(prefix, _WatchedAdapter())
        self._token: str | None = None
        self._token_renew_at = 0.0

    def __repr__(self) -> str:  # the secret stays out of tracebacks and debug output
        return f"OpenEdxClient({self.lms_url!r}, client_id={self._client_id!r})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **options: Any) -> OpenEdxClient:
        missing = [key for key in SETTINGS if not (config.get(key) or "").strip()]
        if missing:
            names = ", ".join(f"MENTORNET_{key}" for key in missing)
            raise LmsConfigurationError(
                f"Reconciliation with Open edX needs {names} (see docs/reconciliation.md)."
            )
        url = config["OPENEDX_LMS_URL"].strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LmsConfigurationError(
                f"MENTORNET_OPENEDX_LMS_URL must be the LMS's address, like https://lms.example.org, not {url!r}."
            )
        production = config.get("ENV") == "production" and not config.get("TESTING")
        if parts.scheme == "http" and production and parts.hostname not in _LOOPBACK:
            raise LmsConfigurationError(
                "MENTORNET_OPENEDX_LMS_URL must use https in production: the client secret is sent with it."
            )
        return cls(
            url, config["OPENEDX_CLIENT_ID"].strip(), config["OPENEDX_CLIENT_SECRET"].strip(), **options
        )

    # -- the APIs --------------------------------------------------------------------------------------

    def course_grades(self, course_key: str) -> Iterator[list[dict[str, Any]]]:
        """Every page of ``GET /api/grades/v1/courses/{course_id}/``, following the ``next`` links.

        Each result has ``username``, ``email``, ``course_id``, ``passed``, ``percent`` and ``letter_grade``.
        """
        for rows, _next_url in self.grade_pages(course_key):
            yield rows

    def grade_pages(
        self, course_key: str, start_url: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Like ``course_grades``, with each page's ``next`` link (None on the last page): a cursor to resume
        from with ``start_url`` (kept on our configured origin)."""
        url: str | None = self._same_origin(start_url) or (
            f"{self.lms_url}/api/grades/v1/courses/{quote(course_key, safe=':+')}/"
        )
        seen: set[str] = set()
        while url is not None:
            if url in seen:
                raise LmsError(f"The LMS's grade pages loop back to {url}.", url=url)
            seen.add(url)
            page = self._get_json(url)
            results = page.get("results") if isinstance(page, dict) else None
            if not isinstance(results, list):
                raise LmsError(f"{url} did not answer with a page of grades (no 'results' list).", url=url)
            url = self._same_origin(page.get("next"))
            yield [row for row in results if isinstance(row, dict)], url

    def certificate(self, username: str, course_key: str) -> dict[str, Any] | None:
        """``GET /api/certificates/v0/certificates/{username}/courses/{course_id}/``, or None without one."""
        url = (
            f"{self.lms_url}/api/certificates/v0/certificates/{quote(username, safe='')}"
            f"/courses/{quote(course_key, safe=':+')}/"
        )
        response = self._authorised_get(url)
        if response.status_code == 404:
            # A learner without a certificate is a 404 with an error code; a 404 without one is a wrong URL.
            body = _json_or_none(response)
            if isinstance(body, dict) and body.get("error_code") in NO_CERTIFICATE:
                return None
        body = self._checked_json(response, url)
        if not isinstance(body, dict):
            raise LmsError(f"{url} did not answer with a certificate.", url=url)
        return body

    # -- plumbing --------------------------------------------------------------------------------------

    def _same_origin(self, next_url: Any) -> str | None:
        """Keep the path and query of a ``next`` link, on our configured origin.

        Behind a proxy the LMS may build its links with another scheme or host; our token only ever goes to
        the address the operator configured.
        """
        if not next_url:
            return None
        base, link = urlsplit(self.lms_url), urlsplit(str(next_url))
        return urlunsplit((base.scheme, base.netloc, link.path, link.query, ""))

    def _get_json(self, url: str) -> Any:
        return self._checked_json(self._authorised_get(url), url)

    def _checked_json(self, response: requests.Response, url: str) -> Any:
        if response.status_code != 200:
            raise LmsError(
                f"GET {url} answered HTTP {response.status_code}{_hint(response.status_code)}.",
                url=url,
                status=response.status_code,
            )
        body = _json_or_none(response)
        if body is None:
            raise LmsError(f"GET {url} did not answer with JSON.", url=url, status=response.status_code)
        return body

    def _authorised_get(self, url: str) -> requests.Response:
        token = self._access_token()
        response = self._send("GET", url, headers={"Authorization": f"JWT {token}"})
        if response.status_code != 401:
            return response
        # The LMS no longer takes the token (expired early, or keys rotated): one fresh token, one more try.
        log.info("LMS answered 401 for %s; fetching a new token", url)
        self._token = None
        response = self._send("GET", url, headers={"Authorization": f"JWT {self._access_token()}"})
        if response.status_code == 401:
            raise LmsError(
                f"GET {url} answered HTTP 401 even with a fresh token: the LMS does not let mentorNET's "
                "OAuth2 application read this.",
                url=url,
                status=401,
            )
        return response

    def _access_token(self) -> str:
        if self._token is not None and self._clock() < self._token_renew_at:
            return self._token
        url = f"{self.lms_url}/oauth2/access_token"
        response = self._send(
            "POST",
            url,
            data={"grant_type": "client_credentials", "token_type": "jwt"},  # nosec B105  # OAuth2 names, no secret
            auth=(self._client_id, self._client_secret),
        )
        body = _json_or_none(response)
        if response.status_code in (400, 401, 403):
            code = body.get("error") if isinstance(body, dict) else None
            raise LmsError(
                f"POST {url} refused the client credentials (HTTP {response.status_code}"
                f"{', ' + str(code) if code else ''}): check MENTORNET_OPENEDX_CLIENT_ID and "
                "MENTORNET_OPENEDX_CLIENT_SECRET against the OAuth2 application in the LMS.",
                url=url,
                status=response.status_code,
            )
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise LmsError(
                f"POST {url} answered HTTP {response.status_code} without an access token.",
                url=url,
                status=response.status_code,
            )
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        # Renew a little before the end, so a token never expires between our check and the LMS's.
        self._token = str(body["access_token"])
        self._token_renew_at = self._clock() + lifetime - min(60.0, lifetime / 10)
        return self._token

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request, retried on connection errors, timeouts, 429 and 5xx; other answers are returned."""
        problem, status = "", None
        for attempt in range(1, self.attempts + 1):
            delay = self.backoff * 2 ** (attempt - 1)
            try:
                with _Watchdog(self.total_timeout) as watchdog:
                    try:
                        response = self._http.request(
                            method, url, timeout=self.timeout, stream=True, **kwargs
                        )
                        _read_within(response, time.monotonic() + self.total_timeout)
                        watchdog.done()
                    except requests.RequestException:
                        if watchdog.fired:  # the watchdog cut the connection: the answer was too slow
                            raise _TooSlow from None
                        raise
                    if watchdog.fired:  # cut in the headers, which http.client then takes as ended early
                        response.close()
                        raise _TooSlow
            except _TooSlow:
                problem, status = f"the answer took longer than {self.total_timeout:g} s", None
            except requests.Timeout:
                problem, status = f"no answer within {self.timeout[1]:g} s", None
            except requests.ConnectionError:
                problem, status = "could not connect", None
            except requests.exceptions.ChunkedEncodingError:
                problem, status = "the answer broke off", None
            except requests.RequestException as exc:  # a malformed URL or the like: trying again cannot help
                raise LmsError(f"{method} {url} could not be sent ({type(exc).__name__}).", url=url) from exc
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                problem, status = f"HTTP {response.status_code}", response.status_code
                if response.status_code == 429:
                    delay = max(delay, _retry_after(response))
                response.close()
            if attempt < self.attempts:
                log.warning(
                    "LMS %s %s: %s; retrying in %.1f s (attempt %d of %d)",
                    method,
                    url,
                    problem,
                    delay,
                    attempt,
                    self.attempts,
                )
                self._sleep(delay)
        raise LmsError(
            f"{method} {url} failed {self.attempts} times; last: {problem}.", url=url, status=status
        )


class _TooSlow(Exception):
    pass


# -- the whole answer within the total timeout, headers included ----------------------------------------------
#
# requests' read timeout is per socket read, so an LMS that sends its status line and headers a byte at a time
# would hold ``request()`` for as long as it likes, before ``_read_within`` could look at the clock. The
# connections of ``OpenEdxClient``'s session note their socket (in a thread-local) when they start reading an
# answer, and a timer per attempt shuts that socket down once the total timeout is over: the blocked read then
# fails at once, and ``_send`` counts it as too slow.

_watched = threading.local()


class _Watchdog:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.fired = False
        self._done = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        _watched.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()
        _watched.watchdog = None
        with self._lock:
            self._sock = None

    def done(self) -> None:
        """The whole answer is in: from now on the timer changes nothing (it fired before, or never will)."""
        with self._lock:
            self._done = True
            self._sock = None

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            fired = self.fired
        if fired and sock is not None:  # over time before the answer began
            _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            if self._done:  # the answer was complete just before: nothing to cut, and not too slow
                return
            self.fired = True
            sock = self._sock
        if sock is not None:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


def _note_socket(connection: HTTPConnection) -> None:
    watchdog = getattr(_watched, "watchdog", None)
    if watchdog is not None:
        watchdog.watch(connection.sock)


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args, **kwargs):
        _note_socket(self)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args, **kwargs):
        _note_socket(self)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def _read_within(response: requests.Response, deadline: float) -> None:
    """Read the whole body by ``deadline`` (a slow drip is cut off), keeping it for ``.json()``.

    ``read1`` returns whatever has arrived, so the deadline is checked however slowly the bytes come.
    """
    chunks = []
    try:
        while chunk := response.raw.read1(65536, decode_content=True):
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _TooSlow
    except urllib3.exceptions.ReadTimeoutError as exc:
        response.close()
        raise requests.exceptions.ReadTimeout(str(exc)) from exc
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as exc:
        response.close()
        raise requests.exceptions.ChunkedEncodingError(str(exc)) from exc
    except BaseException:
        response.close()
        raise
    response._content = b"".join(chunks)  # noqa: SLF001 - what requests does when it reads the body itself
    response._content_consumed = True  # noqa: SLF001


def _retry_after(response: requests.Response) -> float:
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(response.headers.get("Retry-After", 0))))
    except ValueError:  # an HTTP date: rare enough that the normal back-off will do
        return 0.0


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
