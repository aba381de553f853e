"""A network partition of one "host" for the fault suite (issue 10, item 9).

The host is a Linux network namespace of its own, joined to this one by a veth pair (`NamespacedHost`): a worker
started in it (`ip netns exec`) reaches PostgreSQL and Redis only over that link. `cut()` points each end's
neighbour entry for the other at a MAC address nobody has, so every frame either way is dropped by the receiving
end: no RST, no ICMP, no error, routes and links stay up, new connections time out and established ones stop
hearing back, as when a switch or a cloud network fails between hosts. `heal()` deletes those entries (ARP finds
the real addresses again) and TCP retransmits what was held. Taking the link down instead would not be a black
hole: the routes go with it, so both kernels fail sends at once with "No route to host" and give up on their
connections; this machine's kernel has no `netem` or `tc` drop actions to use instead.

PostgreSQL and Redis listen on 127.0.0.1, which is not reachable from another namespace, so a `Relay` in the
test process forwards connections from the link's address to them. Where namespaces cannot be created (no
CAP_NET_ADMIN), the relay listens on 127.0.0.1 and is the partition itself: `cut()` makes it hold every byte
instead of forwarding it (nothing is closed). That is weaker than the link: the relay's kernel still
acknowledges the worker's packets and TCP keepalives, so only the worker's own timeouts can notice the cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import subprocess
import threading
from urllib.parse import urlsplit, urlunsplit


class Relay:
    """Forwards TCP connections from `listen_host` (one port per target) to 127.0.0.1:target, in a thread of its
    own. `hold()` stops forwarding, keeping every connection open; `release()` forwards again."""

    def __init__(self, listen_host: str, targets: list[int]) -> None:
        self.listen_host, self.targets = listen_host, targets
        self.ports: dict[int, int] = {}  # target port -> the relay's port for it
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="relay", daemon=True)
        self._servers: list[asyncio.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._open: asyncio.Event | None = None

    def start(self) -> Relay:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    def address(self, uri: str) -> str:
        """`uri` (on 127.0.0.1) as seen through the relay."""
        parts = urlsplit(uri)
        netloc = f"{parts.username + '@' if parts.username else ''}{self.listen_host}:{self.ports[parts.port]}"
        return urlunsplit(parts._replace(netloc=netloc))

    def hold(self) -> None:
        self._loop.call_soon_threadsafe(self._open.clear)

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._open.set)

    def stop(self) -> None:
        async def close() -> None:
            for server in self._servers:
                server.close()
            for writer in self._writers:
                writer.transport.abort()  # each copy loop then ends by itself
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            await asyncio.wait(tasks, timeout=5) if tasks else None

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _listen(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        for target in self.targets:
            server = await asyncio.start_server(functools.partial(self._connect, target), self.listen_host, 0)
            self.ports[target] = server.sockets[0].getsockname()[1]
            self._servers.append(server)

    async def _connect(self, target: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, upstream_writer))
        await asyncio.gather(self._copy(reader, upstream_writer), self._copy(upstream_reader, writer))
        self._writers.difference_update((writer, upstream_writer))

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._open.wait()
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


# A locally administered unicast MAC address that no interface here has: frames sent to it are dropped.
NOWHERE = "02:00:5e:00:de:ad"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class NamespacedHost:
    """A network namespace linked to this one by a veth pair: this side is `.1`, the host's side `.2` of a /30."""

    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}{random.randrange(100):02d}"
        self.netns, self.link, self.peer = f"apf{tag}", f"apf{tag}h", f"apf{tag}n"
        net = f"10.{random.randrange(200, 250)}.{random.randrange(256)}"
        self.here, self.there = f"{net}.1", f"{net}.2"

    @property
    def wrap(self) -> tuple[str, ...]:
        """The command prefix that runs a process on this host."""
        return ("ip", "netns", "exec", self.netns)

    def create(self) -> NamespacedHost:
        _ip("netns", "add", self.netns)
        try:
            _ip("link", "add", self.link, "type", "veth", "peer", "name", self.peer, "netns", self.netns)
            _ip("addr", "add", f"{self.here}/30", "dev", self.link)
            _ip("link", "set", self.link, "up")
            _ip("-n", self.netns, "addr", "add", f"{self.there}/30", "dev", self.peer)
            _ip("-n", self.netns, "link", "set", self.peer, "up")
            _ip("-n", self.netns, "link", "set", "lo", "up")
        except subprocess.CalledProcessError:
            self.delete()
            raise
        return self

    def cut(self) -> None:
        _ip("neigh", "replace", self.there, "lladdr", NOWHERE, "dev", self.link, "nud", "permanent")
        _ip("-n", self.netns, "neigh", "replace", self.here, "lladdr", NOWHERE, "dev", self.peer, "nud", "permanent")

    def heal(self) -> None:
        _ip("neigh", "del", self.there, "dev", self.link)
        _ip("-n", self.netns, "neigh", "del", self.here, "dev", self.peer)

    def delete(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", self.link)  # its peer goes with it
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", self.netns)


class Partition:
    """One host cut off from PostgreSQL and Redis: in a namespace when this machine allows it, else by the relay."""

    def __init__(self, postgres_port: int, redis_port: int) -> None:
        self.host: NamespacedHost | None = None
        if not os.environ.get("PARTITION_WITHOUT_NAMESPACES"):  # set to try the fallback where namespaces work
            try:
                self.host = NamespacedHost().create()
            except (subprocess.CalledProcessError, FileNotFoundError):
                self.host = None
        listen = self.host.here if self.host else "127.0.0.1"
        self.relay = Relay(listen, [postgres_port, redis_port]).start()
        self.mechanism = "network namespace, frames dropped both ways" if self.host else "relay holding every byte"

    @property
    def wrap(self) -> tuple[str, ...]:
        return self.host.wrap if self.host else ()

    def holds(self, pid: int) -> bool:
        """Whether the process `pid` is on the host (in its network namespace): a worker started outside it is not
        cut off by `cut()`, whose drops only touch the link. Always true for the relay."""
        if self.host is None:
            return True
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{self.host.netns}").st_ino

    def cut(self) -> None:
        self.host.cut() if self.host else self.relay.hold()

    def heal(self) -> None:
        self.host.heal() if self.host else self.relay.release()

    def close(self) -> None:
        self.relay.release()
        if self.host:
            self.host.delete()
        self.relay.stop()
