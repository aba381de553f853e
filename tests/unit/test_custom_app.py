"""The custom app assembled around the API as the official server assembles it: precedence, `middleware_order`,
`enable_custom_route_auth` through the API's identity hook (a stub authenticator here), loading errors, OpenAPI.

The API is a stub ASGI app that names the path it got: what reaches it is what the real API would answer.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from access.errors import Unauthenticated
from agentplatform import identity
from agentplatform.custom_app import CustomApp, compose, custom_openapi, load_custom_app, merge_openapi
from agentplatform.http_options import HttpOptions
from agentplatform.langgraph_config import ConfigError

SEEN: list[str] = []  # paths the custom middleware saw


async def api(scope, receive, send):
    response = JSONResponse({"api": scope["path"], "user": getattr(scope.get("identity"), "identity", None)})
    await response(scope, receive, send)


async def hello(request):
    user = request.scope.get("user")
    return JSONResponse({"custom": request.url.path, "user": getattr(user, "identity", None)})


class Recorder(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        SEEN.append(request.url.path)
        response = await call_next(request)
        response.headers["x-custom"] = "1"
        return response


def client(options: HttpOptions = HttpOptions(), *paths: str) -> TestClient:
    paths = paths or ("/hello", "/info", "/ok", "/docs", "/threads/search")
    app = Starlette(routes=[Route(p, hello, methods=["GET", "POST"]) for p in paths], middleware=[Middleware(Recorder)])
    SEEN.clear()
    return TestClient(compose(CustomApp("t:app", app, tuple(app.router.routes)), api, options))


@pytest.fixture
def token_required(monkeypatch):
    """A stub authenticator in the API's identity hook: `x-token: good` is user-1, anything else a 401."""

    def authenticate(scope):
        if dict(scope.get("headers", [])).get(b"x-token") != b"good":
            raise Unauthenticated("bad token")
        return SimpleNamespace(identity="user-1", permissions=("read",))

    monkeypatch.setattr(identity, "scope_identity", authenticate)


def test_custom_routes_shadow_the_api_and_info_but_not_ok_docs_metrics_openapi():
    c = client()
    assert c.get("/hello").json()["custom"] == "/hello"
    assert c.post("/threads/search").json()["custom"] == "/threads/search"
    assert c.get("/info").json()["custom"] == "/info"
    assert c.get("/ok").json() == {"api": "/ok", "user": None}
    assert c.get("/docs").json()["api"] == "/docs"
    assert c.get("/threads").json()["api"] == "/threads"


def test_a_method_the_custom_route_lacks_goes_on_to_the_api():
    c = client(HttpOptions(), "/only-get")
    assert c.delete("/only-get").json() == {"api": "/only-get", "user": None}


def test_with_meta_disabled_even_ok_can_be_shadowed():
    assert client(HttpOptions(disabled=frozenset({"meta"}))).get("/ok").json()["custom"] == "/ok"


def test_middleware_first_wraps_the_api_and_every_route():
    c = client()
    assert c.get("/threads").headers["x-custom"] == "1"
    assert c.get("/ok").headers["x-custom"] == "1"
    assert SEEN == ["/threads", "/ok"]


def test_custom_routes_are_not_authenticated_unless_enabled(token_required):
    assert client().get("/hello").status_code == 200


def test_enabled_custom_route_auth_refuses_as_the_api_does(token_required):
    c = client(HttpOptions(enable_custom_route_auth=True))
    refused = c.get("/hello")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "bad token"}
    allowed = c.get("/hello", headers={"x-token": "good"})
    assert allowed.json() == {"custom": "/hello", "user": "user-1"}
    assert SEEN == ["/hello", "/hello"]  # middleware_first: the middleware saw the refused request too


def test_auth_first_authenticates_before_the_custom_middleware(token_required):
    c = client(HttpOptions(enable_custom_route_auth=True, middleware_order="auth_first"))
    assert c.get("/hello").status_code == 401
    assert c.get("/threads").status_code == 401  # the API too, before the middleware
    assert SEEN == []
    assert c.get("/threads", headers={"x-token": "good"}).json() == {"api": "/threads", "user": "user-1"}
    assert c.get("/hello", headers={"x-token": "good"}).headers["x-custom"] == "1"
    assert SEEN == ["/threads", "/hello"]


def test_auth_first_leaves_health_and_docs_unauthenticated_but_wrapped(token_required):
    c = client(HttpOptions(middleware_order="auth_first"), "/hello")
    for path in ("/ok", "/docs", "/metrics", "/openapi.json", "/", "/info"):
        response = c.get(path)
        assert response.status_code == 200, path
        assert response.headers["x-custom"] == "1"


def test_auth_first_without_custom_route_auth_leaves_custom_routes_open(token_required):
    c = client(HttpOptions(middleware_order="auth_first"), "/hello")
    assert c.get("/hello").status_code == 200
    assert c.get("/threads").status_code == 401


def write_app(tmp_path, source: str) -> str:
    (tmp_path / "webapp.py").write_text(source)
    return "./webapp.py:app"


def test_an_app_that_fails_to_import_names_its_file(tmp_path):
    target = write_app(tmp_path, "import no_such_module\n")
    with pytest.raises(ConfigError, match=r"http.app './webapp.py:app'.*importing ./webapp.py failed.*no_such_module"):
        load_custom_app(target, tmp_path)


def test_an_app_file_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"webapp\.py does not exist"):
        load_custom_app("./webapp.py:app", tmp_path)


def test_an_app_attribute_that_is_missing_or_not_starlette_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="has no attribute 'app'"):
        load_custom_app(write_app(tmp_path, "application = 1\n"), tmp_path)
    with pytest.raises(ConfigError, match="not a Starlette or FastAPI application"):
        load_custom_app(write_app(tmp_path, "app = object()\n"), tmp_path)


def test_a_starlette_app_file_loads_relative_to_langgraph_json(tmp_path):
    source = "from starlette.applications import Starlette\napp = Starlette()\n"
    custom = load_custom_app(write_app(tmp_path, source), tmp_path)
    assert isinstance(custom.app, Starlette)


def documented(request):
    """Lists things.
    ---
    responses:
      "200":
        description: The things.
    """


def undocumented(request):
    pass


def test_starlette_routes_are_documented_from_their_docstrings():
    app = Starlette(routes=[Route("/things", documented), Route("/plain/{id}", undocumented, methods=["POST"])])
    paths = custom_openapi(CustomApp("t:app", app, tuple(app.routes)))["paths"]
    assert paths["/things"]["get"]["responses"] == {"200": {"description": "The things."}}
    assert paths["/plain/{id}"]["post"]["operationId"] == "undocumented_plain__id__post"
    assert set(paths["/plain/{id}"]["post"]) == {"operationId", "responses"}


def test_a_fastapi_like_app_contributes_its_own_document():
    class FastAPILike(Starlette):
        def openapi(self):
            return {"openapi": "3.1.0", "info": {"title": "Mine"}, "paths": {"/x": {"get": {"operationId": "x"}}}}

    app = FastAPILike()
    assert custom_openapi(CustomApp("t:app", app, ()))["paths"] == {"/x": {"get": {"operationId": "x"}}}


def test_merge_lets_the_custom_operation_win_a_shared_path_and_method():
    ours = {
        "info": {"title": "agentplatform", "version": "1"},
        "paths": {"/a": {"get": {"operationId": "ours_get"}, "post": {"operationId": "ours_post"}}},
        "components": {"schemas": {"A": {}}},
        "tags": [{"name": "Threads"}],
    }
    theirs = {
        "info": {"title": "Mine"},
        "paths": {"/a": {"get": {"operationId": "theirs"}}, "/b": {"get": {}}},
        "components": {"schemas": {"B": {}}},
        "tags": [{"name": "Custom"}],
    }
    merged = merge_openapi(ours, theirs)
    assert merged["paths"]["/a"] == {"get": {"operationId": "theirs"}, "post": {"operationId": "ours_post"}}
    assert "/b" in merged["paths"]
    assert set(merged["components"]["schemas"]) == {"A", "B"}
    assert [t["name"] for t in merged["tags"]] == ["Threads", "Custom"]
    assert merged["info"] == {"title": "Mine", "version": "1"}
