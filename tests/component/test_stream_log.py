"""The event-log owner against real Redis: each attempt's start written once, appends fenced by attempt, the ending,
multi-log reads."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest

from agentplatform import stream_log
from agentplatform.errors import StaleAttemptError
from agentplatform.redis_clients import sync_redis


def logged(key: str) -> list[tuple[str, dict]]:
    return [(event, orjson.loads(data)) for _, event, data in stream_log.decode_entries(sync_redis().xrange(key))]


def test_first_attempts_start_written_by_the_worker_is_not_repeated_by_the_api():
    run_id = uuid.uuid4()

    async def scenario():
        await stream_log.append_start(run_id, 1)  # the worker claimed the run before the API logged its start
        await stream_log.append(stream_log.run_stream_key(run_id), "values", {"a": 1})
        await stream_log.append_start(run_id, 1)  # the API, right after creating the run

    asyncio.run(scenario())
    start = {"run_id": str(run_id), "attempt": 1}
    assert logged(stream_log.run_stream_key(run_id)) == [("metadata", start), ("values", {"a": 1})]


def test_start_bounds_the_log_by_the_run_timeout_until_the_run_ends(settings):
    settings.BG_JOB_TIMEOUT_SECS = 600
    settings.RESUMABLE_STREAM_TTL_SECONDS = 30
    run_id = uuid.uuid4()
    key = stream_log.run_stream_key(run_id)

    asyncio.run(stream_log.append_start(run_id, 1))
    assert 600 < sync_redis().ttl(key) <= 630
    stream_log.finish_sync(run_id, "success", {"a": 1})
    assert sync_redis().ttl(key) <= 30


def test_a_start_arriving_after_the_runs_end_leaves_its_log_alone(settings):
    settings.RESUMABLE_STREAM_TTL_SECONDS = 30
    run_id = uuid.uuid4()
    key = stream_log.run_stream_key(run_id)

    asyncio.run(stream_log.append_start(run_id, 1))
    stream_log.finish_sync(run_id, "success", {})
    asyncio.run(stream_log.append_start(run_id, 1))  # the API, slower than the whole run

    assert [event for event, _ in logged(key)] == ["metadata", stream_log.DONE_EVENT]
    assert sync_redis().ttl(key) <= 30


def test_finish_appends_the_error_then_the_done_event_carrying_the_wait_body():
    run_id = uuid.uuid4()
    error = {"error": "ValueError", "message": "x"}

    stream_log.finish_sync(run_id, "error", {"__error__": error}, error=error)

    entries = stream_log.decode_entries(sync_redis().xrange(stream_log.run_stream_key(run_id)))
    assert [event for _, event, _ in entries] == ["error", stream_log.DONE_EVENT]
    assert orjson.loads(entries[0][2]) == error
    assert stream_log.done_result(entries[1][2]) == {"__error__": error}


def test_read_many_after_merges_several_logs_in_id_order():
    first, second = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"

    async def scenario():
        ids = []
        for key, event in ((first, "a"), (second, "b"), (first, "c")):
            ids.append(await stream_log.append(key, event, {}))
            await asyncio.sleep(0.005)  # ids of different logs are ordered by their time part only
        entries = await stream_log.read_many_after({first: stream_log.START, second: stream_log.START}, 10)
        return ids, entries

    ids, entries = asyncio.run(scenario())
    assert [(key, entry_id, event) for key, entry_id, event, _ in entries] == [
        (first, ids[0], "a"),
        (second, ids[1], "b"),
        (first, ids[2], "c"),
    ]


def test_last_entry_and_exists_of_a_missing_log():
    key = f"test:{uuid.uuid4()}"

    async def scenario():
        return await stream_log.last_entry(key), await stream_log.exists(key)

    assert asyncio.run(scenario()) == ((stream_log.START, None), False)


def _append(run_id, attempt: int, event: str = "values"):
    return asyncio.run(stream_log.append_attempt(run_id, attempt, event, {"attempt": attempt}))


def test_an_attempt_superseded_by_a_later_start_appends_nothing():
    run_id = uuid.uuid4()
    asyncio.run(stream_log.append_start(run_id, 1))
    _append(run_id, 1)
    asyncio.run(stream_log.append_start(run_id, 2))  # another worker took the run over
    with pytest.raises(StaleAttemptError):
        _append(run_id, 1)  # the old worker, still alive
    _append(run_id, 2)
    assert [data.get("attempt") for _, data in logged(stream_log.run_stream_key(run_id))] == [1, 1, 2, 2]


def test_nothing_is_appended_after_the_runs_end_nor_a_late_start():
    run_id = uuid.uuid4()
    asyncio.run(stream_log.append_start(run_id, 1))
    stream_log.finish_sync(run_id, "timeout", {})  # written by the supervisor while the graph still runs
    with pytest.raises(StaleAttemptError):
        _append(run_id, 1)
    asyncio.run(stream_log.append_start(run_id, 2))
    assert [event for event, _ in logged(stream_log.run_stream_key(run_id))] == ["metadata", stream_log.DONE_EVENT]


def test_a_given_back_attempt_is_refused_before_the_next_one_starts():
    run_id = uuid.uuid4()
    asyncio.run(stream_log.append_start(run_id, 1))
    stream_log.supersede_sync(run_id, 1)
    with pytest.raises(StaleAttemptError):
        _append(run_id, 1)
    asyncio.run(stream_log.append_start(run_id, 2))
    stream_log.supersede_sync(run_id, 1)  # late, from the sweeper: never lowers the fence
    _append(run_id, 2)


def test_a_fence_lost_with_redis_data_is_recreated_by_the_live_attempt():
    run_id = uuid.uuid4()
    asyncio.run(stream_log.append_start(run_id, 2))
    sync_redis().delete(stream_log.run_fence_key(run_id), stream_log.run_stream_key(run_id))
    _append(run_id, 1)  # a zombie writing first after the loss...
    _append(run_id, 2)  # ...cannot shut out the live attempt, which raises the fence again
    with pytest.raises(StaleAttemptError):
        _append(run_id, 1)
    assert sync_redis().ttl(stream_log.run_stream_key(run_id)) > 0
