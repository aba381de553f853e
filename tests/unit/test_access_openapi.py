"""access.openapi: /openapi.json shows auth.openapi's schemes as the official server applies them, and the
x-api-key scheme when API keys are on (either authenticates, so they are alternatives)."""

from __future__ import annotations

from access.openapi import openapi_security

AUTHENTICATE = "@auth.authenticate\nasync def authenticate(authorization):\n    return 'u'\n"
BEARER = {"bearer": {"type": "http", "scheme": "bearer"}}


def _schema() -> dict:
    return {"paths": {"/threads": {"post": {}, "get": {}}}, "components": {"schemas": {}}}


def test_nothing_configured_leaves_the_schema_alone(settings):
    assert openapi_security(_schema()) == _schema()


def test_custom_auth_openapi_adds_schemes_default_security_and_path_overrides(use_auth):
    openapi = {"securitySchemes": BEARER, "security": [{"bearer": []}], "paths": {"/threads": {"POST": [{}]}}}
    use_auth(AUTHENTICATE, openapi=openapi)

    schema = openapi_security(_schema())

    assert schema["components"]["securitySchemes"] == BEARER
    assert schema["security"] == [{"bearer": []}]
    assert schema["paths"]["/threads"]["post"]["security"] == [{}]
    assert "security" not in schema["paths"]["/threads"]["get"]


def test_snake_case_security_schemes_are_accepted_as_officially(use_auth):
    use_auth(AUTHENTICATE, openapi={"security_schemes": BEARER})

    assert openapi_security(_schema())["components"]["securitySchemes"] == BEARER


def test_api_keys_add_the_x_api_key_header_as_an_alternative(use_auth, settings):
    settings.API_KEYS_ENABLED = True
    use_auth(AUTHENTICATE, openapi={"securitySchemes": BEARER, "security": [{"bearer": []}]})

    schema = openapi_security(_schema())

    assert schema["components"]["securitySchemes"]["x-api-key"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    assert schema["security"] == [{"bearer": []}, {"x-api-key": []}]
