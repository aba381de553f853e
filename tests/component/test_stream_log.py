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


def blocked_clients() -> int:
    """Connections Redis reports blocked in a command (XREAD BLOCK)."""
    return sum("b" in client["flags"] for client in sync_redis().client_list())


def test_many_waiting_readers_share_one_blocked_connection():
    keys = [f"test:{uuid.uuid4()}" for _ in range(200)]

    async def scenario():
        before = await asyncio.to_thread(blocked_clients)
        readers = [asyncio.create_task(stream_log.read_after(key, stream_log.START, 3000)) for key in keys]
        await asyncio.sleep(0.5)
        during = await asyncio.to_thread(blocked_clients)
        ids = [await stream_log.append(key, "values", {"n": n}) for n, key in enumerate(keys)]
        results = await asyncio.gather(*readers)
        return before, during, ids, results

    before, during, ids, results = asyncio.run(scenario())
    assert during - before == 1
    assert [[(entry_id, event) for entry_id, event, _ in result] for result in results] == [
        [(entry_id, "values")] for entry_id in ids
    ]


def test_a_reader_arriving_during_a_blocked_read_gets_entries_already_there_at_once():
    idle, busy = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"

    async def scenario():
        first = await stream_log.append(busy, "values", {"a": 1})
        waiting = asyncio.create_task(stream_log.read_after(idle, stream_log.START, 4000))
        await asyncio.sleep(0.3)  # the shared read now blocks on `idle` only
        started = asyncio.get_running_loop().time()
        entries = await stream_log.read_after(busy, stream_log.START, 4000)
        elapsed = asyncio.get_running_loop().time() - started
        waiting.cancel()
        return first, entries, elapsed

    first, entries, elapsed = asyncio.run(scenario())
    assert [(entry_id, event) for entry_id, event, _ in entries] == [(first, "values")]
    assert elapsed < 2.0  # woken, not left until the blocked read's own timeout


def test_readers_of_one_log_at_different_cursors_each_get_what_follows_their_own():
    key = f"test:{uuid.uuid4()}"

    async def scenario():
        ids = [await stream_log.append(key, "values", {"n": n}) for n in range(3)]
        live = asyncio.create_task(stream_log.read_after(key, ids[-1], 3000))
        await asyncio.sleep(0.3)
        behind = await stream_log.read_after(key, ids[0], 3000)  # arrives with an older cursor than the live one
        later = await stream_log.append(key, "values", {"n": 3})
        return ids, behind, await live, later

    ids, behind, live, later = asyncio.run(scenario())
    assert [entry_id for entry_id, _, _ in behind] == ids[1:]
    assert [entry_id for entry_id, _, _ in live] == [later]


def test_followers_see_every_entry_once_in_order_while_it_is_written():
    key = f"test:{uuid.uuid4()}"

    async def follow(until: int) -> list[str]:
        cursor, seen = stream_log.START, []
        while len(seen) < until:
            for entry_id, _, _ in await stream_log.read_after(key, cursor, 1000):
                cursor = entry_id
                seen.append(entry_id)
        return seen

    async def scenario():
        followers = [asyncio.create_task(follow(60)) for _ in range(20)]
        written = []
        for n in range(60):
            written.append(await stream_log.append(key, "values", {"n": n}))
            await asyncio.sleep(0.002 * (n % 3))
        return written, await asyncio.wait_for(asyncio.gather(*followers), 30)

    written, seen = asyncio.run(scenario())
    assert all(followed == written for followed in seen)


def test_a_follower_back_for_the_next_entries_is_covered_by_the_read_in_flight():
    key, other = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"

    async def scenario():
        reader = await stream_log._shared_readers.get()
        elsewhere = asyncio.create_task(stream_log.read_after(other, stream_log.START, 4000))  # keeps a read going
        following = asyncio.create_task(stream_log.read_after(key, stream_log.START, 4000))
        await asyncio.sleep(0.1)
        first = await stream_log.append(key, "values", {"n": 1})
        assert [entry_id for entry_id, _, _ in await following] == [first]
        sync_redis().delete(reader._wake_key)
        following = asyncio.create_task(stream_log.read_after(key, first, 4000))  # back a moment later
        await asyncio.sleep(0.1)
        second = await stream_log.append(key, "values", {"n": 2})
        entries = await asyncio.wait_for(following, 2)
        elsewhere.cancel()
        return second, entries, sync_redis().exists(reader._wake_key)

    second, entries, woken = asyncio.run(scenario())
    assert [entry_id for entry_id, _, _ in entries] == [second]
    assert not woken, "the read after the delivery waited on the follower's log already"


def test_a_reader_cancelled_while_waiting_leaves_nothing_behind():
    key = f"test:{uuid.uuid4()}"

    async def scenario():
        waiting = asyncio.create_task(stream_log.read_after(key, stream_log.START, 4000))
        await asyncio.sleep(0.2)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        return len((await stream_log._shared_readers.get())._waiters)

    assert asyncio.run(scenario()) == 0


def test_an_unreachable_redis_reaches_the_waiting_readers_as_a_redis_error(settings):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from agentplatform.embedded import free_port

    settings.REDIS_URI = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    async def scenario():
        try:
            await stream_log.read_after(f"test:{uuid.uuid4()}", stream_log.START, 3000)
        except RedisConnectionError:
            return "raised"
        return "returned"

    assert asyncio.run(scenario()) == "raised"


def test_an_event_over_the_size_cap_is_logged_as_an_error_event_saying_so(settings):
    settings.MAX_STREAM_CHUNK_SIZE_BYTES = 1024
    key = f"test:{uuid.uuid4()}"

    async def scenario():
        await stream_log.append(key, "values", {"text": "x" * 2000})
        await stream_log.append(key, "values", {"text": "small"})

    asyncio.run(scenario())
    (big_event, big), small = logged(key)
    assert big_event == "error" and big["error"] == "StreamEventTooLarge"
    assert "MAX_STREAM_CHUNK_SIZE_BYTES (1024 bytes)" in big["message"] and "values event" in big["message"]
    assert small == ("values", {"text": "small"})


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


def test_a_batch_of_events_is_appended_in_order_with_their_ids():
    run_id = uuid.uuid4()
    asyncio.run(stream_log.append_start(run_id, 1))
    events = [("values", {"n": 1}), ("updates", {"n": 2}), ("values", {"n": 3})]
    ids = asyncio.run(stream_log.append_attempt_batch(run_id, 1, events))
    entries = stream_log.decode_entries(sync_redis().xrange(stream_log.run_stream_key(run_id)))
    assert [entry_id for entry_id, _, _ in entries[1:]] == ids
    assert logged(stream_log.run_stream_key(run_id))[1:] == events


def test_a_superseded_attempts_batch_appends_none_of_its_events():
    run_id = uuid.uuid4()
    asyncio.run(stream_log.append_start(run_id, 2))
    with pytest.raises(StaleAttemptError):
        asyncio.run(stream_log.append_attempt_batch(run_id, 1, [("values", {"n": 1}), ("values", {"n": 2})]))
    assert [event for event, _ in logged(stream_log.run_stream_key(run_id))] == ["metadata"]


def test_appends_go_on_after_redis_forgets_its_scripts():
    run_id = uuid.uuid4()
    asyncio.run(stream_log.append_start(run_id, 1))
    sync_redis().script_flush()  # as after a restart without data
    _append(run_id, 1)
    stream_log.supersede_sync(run_id, 1)
    with pytest.raises(StaleAttemptError):
        _append(run_id, 1)
    assert [event for event, _ in logged(stream_log.run_stream_key(run_id))] == ["metadata", "values"]


def test_the_ending_is_also_written_alone_to_the_runs_result_log():
    run_id = uuid.uuid4()
    asyncio.run(stream_log.append_start(run_id, 1))
    _append(run_id, 1)
    stream_log.finish_sync(run_id, "success", {"a": 1})
    assert logged(stream_log.run_result_key(run_id)) == [
        (stream_log.DONE_EVENT, {"status": "success", "result": {"a": 1}})
    ]
    assert sync_redis().ttl(stream_log.run_result_key(run_id)) > 0
