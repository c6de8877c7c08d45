"""The loopback webhook receiver the burst scenarios deliver to."""

from __future__ import annotations

import asyncio
import re
import threading
import time

_ALERT_ID = re.compile(rb'"alert_id":\s*"([^"]+)"')


class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 that answers every POST after `delay` seconds.

    Keeps the wall-clock time each request arrived and each answer was sent.
    """

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.arrived: list[float] = []
        self.answered: list[float] = []
        self.keys: list[tuple[float, str]] = []  # (arrival, the payload's alert_id): what came, how often
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def __enter__(self) -> Receiver:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def reset(self) -> None:
        self.arrived.clear()
        self.answered.clear()
        self.keys.clear()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=4096))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()  # stopped: end every open connection before the loop goes away
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = time.time()
                self.arrived.append(arrived)
                length, close = 0, False
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                    elif name.strip().lower() == "connection" and value.strip().lower() == "close":
                        close = True
                body = await reader.readexactly(length)
                key = _ALERT_ID.search(body)
                if key:
                    self.keys.append((arrived, key[1].decode()))
                await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
                self.answered.append(time.time())
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
