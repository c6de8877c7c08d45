"""A TCP proxy the test controls, between a client and a server, to stage network failures.

`cut()` drops every connection and refuses new ones (a stopped server); `stall()` keeps the
connections open but forwards nothing (a partition: packets vanish, no error comes back);
`restore()` goes back to forwarding. The upstream is (host, port) or a Unix socket path.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

__all__ = ["Proxy"]


class Proxy:
    def __init__(self, upstream: tuple[str, int] | str) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "forward"  # forward | stall | cut
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name="tcpproxy", daemon=True)
        self._thread.start()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cut(self) -> None:
        with self._lock:
            self.mode = "cut"
            for a, b in self._pairs:
                for s in (a, b):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
        self._wake()

    def stall(self) -> None:
        with self._lock:
            self.mode = "stall"
        self._wake()

    def restore(self) -> None:
        with self._lock:
            self.mode = "forward"
        self._wake()

    def close(self) -> None:
        self._stop.set()
        self._wake()
        self._thread.join(timeout=5)
        for a, b in self._pairs:
            a.close()
            b.close()
        self.listener.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.upstream)
            return s
        return socket.create_connection(self.upstream, timeout=5)

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.listener, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        peers: dict[socket.socket, socket.socket] = {}
        while not self._stop.is_set():
            with self._lock:
                mode = self.mode
            # in a stall nothing is read, so nothing is forwarded and the kernel buffers fill up
            for s in list(peers):
                want = selectors.EVENT_READ if mode == "forward" else 0
                key = sel.get_map().get(s)
                if want and key is None:
                    sel.register(s, want, "data")
                elif not want and key is not None:
                    sel.unregister(s)
            for key, _ in sel.select(timeout=0.5):
                if key.data == "wake":
                    self._wake_r.recv(4096)
                elif key.data == "accept":
                    client, _ = self.listener.accept()
                    if mode == "cut":
                        client.close()
                        continue
                    try:
                        server = self._connect_upstream()
                    except OSError:
                        client.close()
                        continue
                    with self._lock:
                        self._pairs.append((client, server))
                    peers[client], peers[server] = server, client
                else:
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    dst = peers.get(src)
                    try:
                        data = src.recv(65536)
                    except OSError:
                        data = b""
                    if data and dst is not None:
                        with contextlib.suppress(OSError):
                            dst.sendall(data)
                        continue
                    for s in (src, dst):
                        if s is not None:
                            with contextlib.suppress(KeyError, ValueError):
                                sel.unregister(s)
                            peers.pop(s, None)
                            s.close()
        sel.close()
