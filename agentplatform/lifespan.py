"""The custom app's lifespan (`http.app`): its startup before any request is served, its shutdown when the server
stops, entered and left in one task on the serving event loop, as an ASGI server does.

Daphne speaks no ASGI lifespan, so under Daphne `run_with_daphne` starts it when the reactor runs and waits for
its shutdown before the reactor stops; a server that does send lifespan events (uvicorn, hypercorn) gets them
answered by `serve`. Either way a request that arrives first waits for the startup (`startup` also starts it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

logger = logging.getLogger(__name__)
STARTUP_FAILED_EXIT_CODE = 3


class Lifespan:
    def __init__(self, context: Callable[[], AbstractAsyncContextManager] | None) -> None:
        self._context = context
        self._ready = context is None
        self._started: asyncio.Future | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def startup(self) -> None:
        """Run the startup once; every caller waits for it and sees its failure."""
        if self._ready:
            return
        if self._started is None:
            loop = asyncio.get_running_loop()
            self._started, self._stop = loop.create_future(), asyncio.Event()
            self._task = loop.create_task(self._run(), name="http.app lifespan")
        await asyncio.shield(self._started)
        self._ready = True

    async def _run(self) -> None:
        try:
            async with self._context():
                self._started.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if self._started.done():
                raise
            self._started.set_exception(exc)

    async def shutdown(self) -> None:
        """Leave the lifespan context (the app's shutdown code); a failure there is logged, the server stops anyway."""
        if self._task is None:
            return
        self._stop.set()
        try:
            await self._task
        except Exception:
            logger.exception("The shutdown of the http.app lifespan failed")

    async def serve(self, receive: Callable, send: Callable) -> None:
        """Answer an ASGI server's lifespan events."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001 - the server reports it and stops
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def run_with_daphne(lifespan: Lifespan) -> None:
    """Under Daphne (its Twisted reactor installed), start the lifespan with the reactor and stop it before the
    reactor stops; a failed startup stops the server with exit code 3. Elsewhere, do nothing."""
    reactor: Any = sys.modules.get("twisted.internet.reactor")
    loop = getattr(reactor, "_asyncioEventloop", None)  # Daphne installs Twisted's asyncio reactor
    if loop is None:
        return
    from twisted.internet.defer import Deferred

    def failed(failure: Any) -> None:
        logger.error("The startup of the http.app lifespan failed; stopping.\n%s", failure.getTraceback())
        reactor.addSystemEventTrigger("after", "shutdown", os._exit, STARTUP_FAILED_EXIT_CODE)
        reactor.stop()

    def start() -> None:
        Deferred.fromFuture(loop.create_task(lifespan.startup())).addErrback(failed)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: Deferred.fromFuture(loop.create_task(lifespan.shutdown()))
    )
