"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""

from __future__ import annotations

import email
import socket
import threading
import time
from email.message import Message

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self):
        self.messages: list[Message] = []
        self.peers: list[
            tuple
        ] = []  # the client's address and port of each message: one port, one connection
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
            self.peers.append(session.peer)
        return "250 OK"

    def connections(self) -> int:
        """How many connections the messages received so far came over."""
        with self._lock:
            return len(set(self.peers))

    def wait_for(self, count: int, timeout: float = 60) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages)} within {timeout}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """Start and stop on a fixed port, so a test can take the server down and bring it back."""

    def __init__(self, port: int | None = None, inbox: Inbox | None = None):
        self.port = port or free_port()
        self.inbox = inbox or Inbox()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        # aiosmtpd waits at most 5 s by default for its thread to serve; a starved machine may take longer.
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, ready_timeout=60)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def text_of(message: Message) -> str:
    """The plain-text part of a received mail (multipart or not)."""
    part = message.get_body(preferencelist=("plain",)) if hasattr(message, "get_body") else None
    if part is None:
        for candidate in message.walk():
            if candidate.get_content_type() == "text/plain":
                part = candidate
                break
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def html_of(message: Message) -> str | None:
    for candidate in message.walk():
        if candidate.get_content_type() == "text/html":
            return candidate.get_payload(decode=True).decode(candidate.get_content_charset() or "utf-8")
    return None
