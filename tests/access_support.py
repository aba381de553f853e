"""Write a custom auth file and a langgraph.json naming it, and point the settings at them (access tests); clients
for the users of tests/graphs/auth.py (auth integration tests)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from access.custom_auth import reset_custom_auth

HEADER = "from langgraph_sdk import Auth\n\nauth = Auth()\n"


def install_auth(tmp_path: Path, settings, source: str, **section) -> Path:
    """`source` is the body of auth.py after `auth = Auth()`; `section` adds keys to langgraph.json's `auth`."""
    (tmp_path / "auth.py").write_text(HEADER + textwrap.dedent(source))
    config = {"graphs": {"echo": "./graphs.py:echo"}, "auth": {"path": "./auth.py:auth", **section}}
    (tmp_path / "langgraph.json").write_text(json.dumps(config))
    settings.LANGGRAPH_CONFIG = str(tmp_path / "langgraph.json")
    reset_custom_auth()
    return tmp_path / "langgraph.json"


def user_client(stack, token: str | None = None, **kwargs):
    """langgraph_sdk's sync client as one user of tests/graphs/auth.py (`token`: user1-token, user2-token...), or
    with other credentials (`api_key=`, `headers=`)."""
    from langgraph_sdk import get_sync_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return get_sync_client(url=stack.url, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
