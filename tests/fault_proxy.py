"""A TCP proxy on 127.0.0.1 between the application and a real server (PostgreSQL, Redis, SMTP, an LMS) that a
test can cut and restore: the component really stops answering, no mock is involved.

Modes:
- ``forward``: bytes go both ways unchanged (optionally ``delay`` seconds before each chunk, a slow link);
- ``drip``: the server's answers come back one byte at a time (a slow-drip response);
- ``refuse``: new connections are accepted and reset at once (the server is down); ``cut()`` also closes every
  open connection;
- ``blackhole``: new connections are accepted and never answered (a firewall dropping packets, a hung host);
- ``cut_on(pattern)``: forward until the client sends ``pattern`` (e.g. PostgreSQL's ``COMMIT``), then drop
  every connection *without* forwarding it and refuse from then on: a crash in the middle of a transaction.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time


class FaultProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.mode = "forward"
        self.delay = 0.0
        self.drip_seconds = 0.0  # > 0: the server's answers trickle back one byte at a time
        self._pattern: bytes | None = None
        self._then = "refuse"
        self.tripped = threading.Event()  # set when cut_on's pattern was seen
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._thread.start()

    # -- switches -----------------------------------------------------------------------------------------

    def forward(self, delay: float = 0.0) -> None:
        self._pattern = None
        self.delay = delay
        self.drip_seconds = 0.0
        self.mode = "forward"

    def drip(self, seconds_per_byte: float) -> None:
        """The server answers, but one byte every ``seconds_per_byte``: never idle long enough for a read
        timeout, never done."""
        self.forward()
        self.drip_seconds = seconds_per_byte

    def refuse(self) -> None:
        """The server is gone: open connections are reset, new ones too."""
        self.mode = "refuse"
        self.cut()

    def blackhole(self) -> None:
        """New connections are taken and never answered; open ones are cut."""
        self.mode = "blackhole"
        self.cut()

    def cut_on(self, pattern: bytes, then: str = "refuse") -> None:
        """When the client sends ``pattern``: drop it, and ``refuse`` (cut every connection) or ``blackhole``
        (leave that request hanging, unanswered) from then on."""
        self.tripped.clear()
        self._then = then
        self._pattern = pattern

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _reset(sock)

    def close(self) -> None:
        self._stopped.set()
        self.cut()
        with contextlib.suppress(OSError):
            self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------------------

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                _reset(client)
                continue
            self._track(client)
            if self.mode == "blackhole":
                continue  # held open, never read, never answered; closed by the next cut()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            self._track(upstream)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client and self._pattern is not None and self._pattern in data:
                    self._pattern = None
                    self.mode = self._then
                    self.tripped.set()
                    if self._then == "blackhole":
                        return  # both sockets stay open and silent until the next cut()
                    self.cut()
                    return
                if self.delay:
                    time.sleep(self.delay)
                if not from_client and self.drip_seconds:
                    for index in range(len(data)):
                        sink.sendall(data[index : index + 1])
                        time.sleep(self.drip_seconds)
                    continue
                sink.sendall(data)
        except OSError:
            pass
        if self.mode == "blackhole":
            return
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed server's kernel would.

    shutdown() first: close() alone leaves the connection open while another thread still waits in recv().
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
