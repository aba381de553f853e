"""An http.app whose lifespan startup fails, as when its database cannot be reached."""

from contextlib import asynccontextmanager

from starlette.applications import Starlette


@asynccontextmanager
async def lifespan(app):
    raise RuntimeError("cannot reach the reporting database")
    yield


app = Starlette(lifespan=lifespan)
