"""One value per event loop, built on first use on that loop (a value holding tasks or connections of a loop
must not be used from another); forgotten once its loop is closed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LoopLocal(Generic[T]):
    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._values: dict[asyncio.AbstractEventLoop, T] = {}
        self._lock = threading.Lock()  # loops in several threads share the table

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        with self._lock:
            value = self._values.get(loop)
            if value is None:
                for closed in [other for other in self._values if other.is_closed()]:
                    del self._values[closed]
                value = self._values[loop] = self._build()
        return value
