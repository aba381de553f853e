"""Stream-log readers against real Redis and Postgres, with logs written by the test (as the worker would)."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest

from agentplatform import serde, stream_log
from runs.api.stream_views import sse_body
from runs.models import Run
from runs.streams import stream_reader
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module", autouse=True)
def close_pool_connections(django_db_blocker):
    """Readers query from thread-pool threads whose connections outlive the test; end them so the test database
    can be dropped."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def disconnects():
    """(calls, on_disconnect): the callback records each call."""
    calls: list[bool] = []

    async def on_disconnect():
        calls.append(True)

    return calls, on_disconnect


@pytest.fixture(autouse=True)
def fast_checks(monkeypatch):
    monkeypatch.setattr(stream_reader, "CHECK_INTERVAL_SECONDS", 0.05)
    monkeypatch.setattr(stream_reader, "DONE_GRACE_SECONDS", 0.1)


def make_run(status: str = Run.Status.RUNNING, **fields) -> Run:
    thread = fields.pop("thread", None) or Thread.objects.create()
    return Run.objects.create(thread=thread, assistant_id=uuid.uuid4(), status=status, **fields)


async def write(run: Run, events: list[tuple[str, object]], done: bool = False) -> list[str]:
    key = stream_log.run_stream_key(run.run_id)
    ids = [await stream_log.append(key, name, serde.dumps(data)) for name, data in events]
    if done:
        await asyncio.to_thread(stream_log.finish_sync, run.run_id, "success", {})
    return ids


async def drain(reader, block_ms: int = 50, rounds: int = 100) -> list[tuple[str, dict]]:
    out = []
    for _ in range(rounds):
        events = await reader.read(block_ms)
        if events is None:
            return out
        out += [(e.event, orjson.loads(e.data)) for e in events]
    raise AssertionError(f"reader did not finish; got {out}")


def test_replay_from_start_forwards_every_event_and_stops_at_done_without_forwarding_it():
    run = make_run()

    async def scenario():
        await write(run, [("metadata", {"run_id": str(run.run_id), "attempt": 1}), ("values", {"a": 1})], done=True)
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
        return await drain(reader)

    assert asyncio.run(scenario()) == [("metadata", {"run_id": str(run.run_id), "attempt": 1}), ("values", {"a": 1})]


def test_replay_after_an_id_skips_everything_up_to_it():
    run = make_run()

    async def scenario():
        ids = await write(run, [("values", {"n": 1}), ("values", {"n": 2}), ("values", {"n": 3})], done=True)
        reader = await stream_reader.RunLogReader.open(run, last_event_id=ids[0])
        return await drain(reader)

    assert asyncio.run(scenario()) == [("values", {"n": 2}), ("values", {"n": 3})]


def test_join_without_last_event_id_of_a_finished_run_is_empty():
    run = make_run(Run.Status.SUCCESS)

    async def scenario():
        await write(run, [("values", {"n": 1})], done=True)
        reader = await stream_reader.RunLogReader.open(run, last_event_id=None)
        return await reader.read(50)

    assert asyncio.run(scenario()) is None


def test_live_join_sees_only_events_appended_after_it():
    run = make_run()

    async def scenario():
        await write(run, [("values", {"n": 1})])
        reader = await stream_reader.RunLogReader.open(run, last_event_id=None)
        await write(run, [("values", {"n": 2})], done=True)
        return await drain(reader)

    assert asyncio.run(scenario()) == [("values", {"n": 2})]


def test_stream_mode_filter_keeps_only_requested_modes_like_the_official_join():
    run = make_run()

    async def scenario():
        events = [("metadata", {"attempt": 1}), ("values", {}), ("updates", {"n": {}}), ("updates|child:1", {})]
        await write(run, events, done=True)
        reader = await stream_reader.RunLogReader.open(
            run, last_event_id=stream_reader.parse_last_event_id("-"), stream_modes=["updates"]
        )
        return [name for name, _ in await drain(reader)]

    assert asyncio.run(scenario()) == ["updates", "updates|child:1"]


def test_missing_log_of_a_finished_run_falls_back_to_postgres_output_on_replay():
    run = make_run(Run.Status.SUCCESS, output={"a": 1})

    async def scenario():
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
        return await drain(reader)

    # The run is over and its log is gone: the client gets the final values from Postgres, then the end.
    assert asyncio.run(scenario()) == [("values", {"a": 1})]


def test_missing_log_of_a_finished_run_gives_a_live_joiner_nothing():
    run = make_run(Run.Status.SUCCESS, output={"a": 1})

    async def scenario():
        reader = await stream_reader.RunLogReader.open(run, last_event_id=None)
        return await drain(reader)

    assert asyncio.run(scenario()) == []


def test_reader_stops_when_postgres_says_the_run_ended_and_the_log_is_gone():
    run = make_run(Run.Status.PENDING)

    async def scenario():
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
        await asyncio.to_thread(
            Run.objects.filter(pk=run.pk).update, status=Run.Status.ERROR, error={"error": "ValueError", "message": "x"}
        )
        return await drain(reader)

    assert asyncio.run(scenario()) == [("error", {"error": "ValueError", "message": "x"})]


def test_reader_stops_when_the_run_is_deleted():
    run = make_run(Run.Status.PENDING)

    async def scenario():
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
        await asyncio.to_thread(Run.objects.filter(pk=run.pk).delete)
        return await drain(reader)

    assert asyncio.run(scenario()) == []


def test_parse_last_event_id_accepts_redis_ids_and_dash_for_everything():
    assert stream_reader.parse_last_event_id(None) is None
    assert stream_reader.parse_last_event_id("-") == "0-0"
    assert stream_reader.parse_last_event_id("-1") == "0-0"
    assert stream_reader.parse_last_event_id("1724342400000-3") == "1724342400000-3"
    from agentplatform.errors import InvalidInput

    with pytest.raises(InvalidInput):
        stream_reader.parse_last_event_id("not-an-id")


def test_thread_reader_follows_a_run_created_after_joining_and_reports_run_done():
    thread = Thread.objects.create()

    async def scenario():
        reader = await stream_reader.ThreadLogReader.open(
            thread.thread_id, last_event_id=None, stream_modes=["run_modes"]
        )
        run = await asyncio.to_thread(make_run, thread=thread)
        await write(run, [("metadata", {"run_id": str(run.run_id), "attempt": 1}), ("values", {"a": 1})], done=True)
        out = []
        for _ in range(100):
            out += [(e.event, orjson.loads(e.data), e.id) for e in await reader.read(50)]
            if any(event == "metadata" and body.get("status") == "run_done" for event, body, _ in out):
                return run, out
        raise AssertionError(out)

    run, out = asyncio.run(scenario())
    assert [(event, body) for event, body, _ in out] == [
        ("metadata", {"run_id": str(run.run_id), "attempt": 1}),
        ("values", {"a": 1}),
        ("metadata", {"status": "run_done", "run_id": str(run.run_id)}),
    ]
    assert all(event_id for _, _, event_id in out)


def test_thread_reader_follows_an_announced_run_without_asking_postgres(monkeypatch):
    monkeypatch.setattr(stream_reader, "CHECK_INTERVAL_SECONDS", 3600)  # the one check is the one at opening
    thread = Thread.objects.create()

    async def scenario():
        reader = await stream_reader.ThreadLogReader.open(
            thread.thread_id, last_event_id=None, stream_modes=["run_modes"]
        )
        run = await asyncio.to_thread(make_run, thread=thread)
        await asyncio.to_thread(stream_log.note_run_created_sync, thread.thread_id, run.run_id)
        await write(run, [("values", {"a": 1})], done=True)
        out = []
        for _ in range(20):
            out += [(e.event, orjson.loads(e.data)) for e in await reader.read(500)]
            if out and out[-1][0] == "metadata":
                return run, out
        raise AssertionError(out)

    run, out = asyncio.run(scenario())
    assert out == [("values", {"a": 1}), ("metadata", {"status": "run_done", "run_id": str(run.run_id)})]


def test_idle_readers_of_a_process_share_one_postgres_check(monkeypatch):
    monkeypatch.setattr(stream_reader, "CHECK_INTERVAL_SECONDS", 0.1)
    asked: list[int] = []
    statuses = stream_reader._run_statuses

    def counted(run_ids: set) -> dict:
        asked.append(len(run_ids))
        return statuses(run_ids)

    monkeypatch.setattr(stream_reader, "_run_statuses", counted)
    runs = [make_run(Run.Status.PENDING) for _ in range(30)]

    async def scenario():
        readers = [await stream_reader.RunLogReader.open(run, last_event_id=None) for run in runs]
        for _ in range(10):
            await asyncio.gather(*(reader.read(50) for reader in readers))

    asyncio.run(scenario())
    # Each round of empty reads would have asked 30 times; the process asks once per interval for all 30.
    assert 1 <= len(asked) <= 15 and max(asked) == 30


def test_thread_reader_lifecycle_mode_keeps_only_run_start_and_run_done():
    thread = Thread.objects.create()
    run = make_run(Run.Status.SUCCESS, thread=thread)

    async def scenario():
        await write(run, [("metadata", {"run_id": str(run.run_id), "attempt": 1}), ("values", {"a": 1})], done=True)
        reader = await stream_reader.ThreadLogReader.open(
            thread.thread_id, last_event_id="0-0", stream_modes=["lifecycle"]
        )
        return [(e.event, orjson.loads(e.data)) for e in await reader.read(50)]

    assert asyncio.run(scenario()) == [
        ("metadata", {"run_id": str(run.run_id), "attempt": 1}),
        ("metadata", {"status": "run_done", "run_id": str(run.run_id)}),
    ]


def test_thread_stream_modes_accept_comma_separated_and_repeated_values():
    assert stream_reader.parse_thread_stream_modes([]) == ["run_modes"]
    assert stream_reader.parse_thread_stream_modes(["lifecycle,state_update"]) == ["lifecycle", "state_update"]
    assert stream_reader.parse_thread_stream_modes(["lifecycle", "run_modes"]) == ["lifecycle", "run_modes"]
    from agentplatform.errors import InvalidInput

    with pytest.raises(InvalidInput):
        stream_reader.parse_thread_stream_modes(["values"])


def test_sse_body_sends_heartbeats_while_the_run_is_silent(monkeypatch):
    from runs.streams import sse

    monkeypatch.setattr(sse, "HEARTBEAT_SECONDS", 0.05)
    run = make_run()

    async def scenario():
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
        body = sse_body(reader, with_ids=False)
        chunks = [await anext(body) for _ in range(3)]
        await body.aclose()
        return chunks

    # An empty first chunk makes Daphne send the headers before any event exists.
    assert asyncio.run(scenario()) == [b"", sse.HEARTBEAT, sse.HEARTBEAT]


def test_sse_body_calls_on_disconnect_when_the_client_goes_away(disconnects):
    run = make_run()
    called, on_disconnect = disconnects

    async def scenario():
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)

        async def consume():
            async for _ in sse_body(reader, with_ids=True, on_disconnect=on_disconnect):
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert called == [True]


def test_sse_body_frames_ids_only_when_asked():
    run = make_run()

    async def scenario():
        ids = await write(run, [("values", {"a": 1})], done=True)
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
        framed = b"".join([chunk async for chunk in sse_body(reader, with_ids=True)])
        return ids[0], framed

    entry_id, framed = asyncio.run(scenario())
    assert framed == f'event: values\r\ndata: {{"a":1}}\r\nid: {entry_id}\r\n\r\n'.encode()


def test_the_first_attempts_start_is_logged_once_by_the_api_and_the_worker_together():
    run = make_run()
    metadata = {"run_id": str(run.run_id), "attempt": 1}

    async def scenario():
        await stream_reader.log_run_start(run)  # what POST /runs/stream does before a worker starts
        await stream_log.append_start(run.run_id, 1)  # the worker starting the graph
        await write(run, [("values", {"a": 1})])
        await stream_log.append_start(run.run_id, 2)  # a retried attempt
        await write(run, [], done=True)
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
        return await drain(reader)

    assert asyncio.run(scenario()) == [
        ("metadata", metadata),
        ("values", {"a": 1}),
        ("metadata", {**metadata, "attempt": 2}),
    ]


def test_the_workers_start_heads_the_log_when_the_api_wrote_none():
    run = make_run()
    metadata = {"run_id": str(run.run_id), "attempt": 1}

    async def scenario():
        await stream_log.append_start(run.run_id, 1)
        await write(run, [("values", {"a": 1})], done=True)
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
        return await drain(reader)

    assert asyncio.run(scenario()) == [("metadata", metadata), ("values", {"a": 1})]


def test_sse_body_calls_on_disconnect_when_closed_early_between_events(disconnects):
    run = make_run()
    called, on_disconnect = disconnects

    async def scenario():
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
        body = sse_body(reader, with_ids=True, on_disconnect=on_disconnect)
        await anext(body)  # suspended at a yield, as when Django is sending a chunk
        await body.aclose()

    asyncio.run(scenario())
    assert called == [True]


def test_sse_body_does_not_call_on_disconnect_when_the_run_ends(disconnects):
    run = make_run()
    called, on_disconnect = disconnects

    async def scenario():
        await write(run, [("values", {"a": 1})], done=True)
        reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
        return [chunk async for chunk in sse_body(reader, with_ids=False, on_disconnect=on_disconnect)]

    assert asyncio.run(scenario()) == [b"", b'event: values\r\ndata: {"a":1}\r\n\r\n']
    assert called == []


class FlakyReader:
    """Fails like an unreachable Redis `failures` times, then yields one event and ends."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def read(self, block_ms: int):
        self.calls += 1
        if self.calls <= self.failures:
            from redis.exceptions import ConnectionError as RedisConnectionError

            raise RedisConnectionError("down")
        return [stream_reader.LogEvent("1-0", "values", b"{}")] if self.calls == self.failures + 1 else None


def test_sse_body_rides_out_a_short_redis_outage():
    async def scenario():
        return [chunk async for chunk in sse_body(FlakyReader(failures=3), with_ids=True)]

    assert asyncio.run(scenario()) == [b"", b"event: values\r\ndata: {}\r\nid: 1-0\r\n\r\n"]


def test_sse_body_closes_quietly_after_a_long_redis_outage(monkeypatch):
    from runs.api import stream_views

    monkeypatch.setattr(stream_views, "REDIS_OUTAGE_SECONDS", 0.2)

    async def scenario():
        return [chunk async for chunk in sse_body(FlakyReader(failures=1000), with_ids=True)]

    # No error event: the SDK then checks the run and reconnects with Last-Event-ID while it still runs.
    assert asyncio.run(scenario()) == [b""]
