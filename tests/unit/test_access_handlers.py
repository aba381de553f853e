"""access.handlers: the most specific @auth.on handler answers (official precedence); uncovered pairs are named."""

from __future__ import annotations

from langgraph_sdk import Auth

from access.handlers import RESOURCE_ACTIONS, coverage_warning, handler_for, uncovered


async def _global(ctx, value): ...
async def _threads(ctx, value): ...
async def _threads_create(ctx, value): ...
async def _any_read(ctx, value): ...
async def _store(ctx, value): ...
async def _store_put(ctx, value): ...


def _auth() -> Auth:
    auth = Auth()
    auth.on(_global)
    auth.on.threads(_threads)
    auth.on.threads.create(_threads_create)
    auth.on(actions="read")(_any_read)
    auth.on.store(_store)
    auth.on.store.put(_store_put)
    return auth


def test_resource_and_action_handler_wins_over_every_broader_one():
    assert handler_for(_auth(), "threads", "create") is _threads_create


def test_resource_handler_wins_over_action_and_global_handlers():
    assert handler_for(_auth(), "threads", "read") is _threads


def test_action_handler_applies_to_every_resource_without_its_own():
    assert handler_for(_auth(), "assistants", "read") is _any_read


def test_global_handler_answers_the_rest():
    assert handler_for(_auth(), "crons", "delete") is _global


def test_store_handlers_follow_the_same_precedence():
    assert handler_for(_auth(), "store", "put") is _store_put
    assert handler_for(_auth(), "store", "get") is _store


def test_no_handler_means_no_check():
    assert handler_for(Auth(), "threads", "create") is None


def test_uncovered_names_each_resource_action_no_handler_answers():
    auth = Auth()
    auth.on.threads(_threads)
    auth.on.store(_store)

    missing = uncovered(auth)

    assert "threads.create_run" not in missing and "store.put" not in missing
    assert missing == [f"{r}.{a}" for r in ("assistants", "crons") for a in RESOURCE_ACTIONS[r]]
    assert "assistants.create, assistants.read" in coverage_warning(auth, "./auth.py:auth")


def test_a_global_handler_covers_everything():
    auth = Auth()
    auth.on(_global)

    assert uncovered(auth) == [] and coverage_warning(auth, "./auth.py:auth") is None


def test_auth_without_any_handler_is_called_out_as_open_to_every_user():
    warning = coverage_warning(Auth(), "./auth.py:auth")

    assert "registers no @auth.on handler" in warning and "every resource" in warning
