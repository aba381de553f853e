"""The security schemes /openapi.json shows: `auth.openapi` from langgraph.json (as the official server applies
it) and, with API keys on, the `x-api-key` header; `postprocess_schema` is the drf-spectacular hook that adds them."""

from __future__ import annotations

from django.conf import settings

from access.custom_auth import get_custom_auth
from access.gate import is_open_path

API_KEY_SCHEME = {"x-api-key": {"type": "apiKey", "in": "header", "name": "x-api-key"}}


def _path_overrides(schema: dict, paths: dict, extra: list) -> None:
    """`auth.openapi.paths`: {path: {method: security}} replaces the default on the operations that exist."""
    for path, methods in paths.items():
        operations = schema.get("paths", {}).get(path, {})
        for method, security in methods.items():
            if method.lower() in operations:
                operations[method.lower()]["security"] = [*security, *extra]


def openapi_security(schema: dict) -> dict:
    """Add the configured security to an OpenAPI document (in place; returned for chaining). Either scheme
    authenticates a request (docs/auth.md), so their requirements are alternatives."""
    custom = get_custom_auth()
    configured = (custom.openapi or {}) if custom is not None else {}
    schemes = dict(configured.get("securitySchemes") or configured.get("security_schemes") or {})
    security = list(configured.get("security") or [])
    key_requirement = [{"x-api-key": []}] if settings.API_KEYS_ENABLED else []
    if key_requirement:
        schemes |= API_KEY_SCHEME
        security += key_requirement
    if schemes:
        schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(schemes)
    if security:
        schema["security"] = security
    _path_overrides(schema, configured.get("paths") or {}, key_requirement)
    return schema


def postprocess_schema(result: dict, generator, request, public, **kwargs) -> dict:
    """drf-spectacular's postprocessing hook (SPECTACULAR_SETTINGS): /openapi.json and /docs show how to
    authenticate, and the open routes (access.gate) say that they need nothing."""
    operations = [(path, operation) for path, ops in result.get("paths", {}).items() for operation in ops.values()]
    # drf-spectacular marks views without DRF authentication classes as open (`[{}]`); `auth.openapi.paths` may
    # replace that with its own list, which is then kept.
    marked = {id(operation): operation.get("security") for _, operation in operations}
    openapi_security(result)
    if not result.get("security"):
        return result
    for path, operation in operations:
        if is_open_path(path):
            operation["security"] = []
        elif operation.get("security") == [{}] and operation["security"] is marked[id(operation)]:
            del operation["security"]  # the API edge authenticates every route: the document's requirement applies
    return result
