"""Crons through langgraph_sdk against the real stack: CRUD, validation, and a firing seen exactly once."""

import datetime
import time
import uuid

import pytest
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError

pytestmark = pytest.mark.integration


def _wait_for(predicate, what: str, timeout: float = 90):
    """Poll until `predicate()` is truthy; the timeout only keeps a broken run from hanging the suite."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what}")


def test_create_update_search_count_delete(client):
    tag = uuid.uuid4().hex
    cron = client.crons.create("echo", schedule="0 9 * * *", timezone="Europe/Paris", metadata={"tag": tag})
    assert cron["schedule"] == "0 9 * * *" and cron["timezone"] == "Europe/Paris"
    assert cron["on_run_completed"] == "delete"
    next_run = datetime.datetime.fromisoformat(cron["next_run_date"])
    assert next_run.astimezone(datetime.timezone(datetime.timedelta(hours=1))).hour in (8, 9)
    updated = client.crons.update(cron["cron_id"], schedule="30 10 * * *", enabled=False, metadata={"more": 1})
    assert updated["schedule"] == "30 10 * * *" and updated["enabled"] is False
    assert updated["metadata"] == {"tag": tag, "more": 1}
    assert [c["cron_id"] for c in client.crons.search(metadata={"tag": tag})] == [cron["cron_id"]]
    assert client.crons.count(metadata={"tag": tag}) == 1
    client.crons.delete(cron["cron_id"])
    assert client.crons.count(metadata={"tag": tag}) == 0
    with pytest.raises(NotFoundError):
        client.crons.delete(cron["cron_id"])


@pytest.mark.parametrize("schedule", ["every monday", "99 * * * *", "* * *"])
def test_bad_cron_string_is_422(client, schedule):
    with pytest.raises(UnprocessableEntityError) as caught:
        client.crons.create("echo", schedule=schedule)
    assert "Invalid cron schedule" in caught.value.response.json()["detail"]


def test_cron_for_unknown_thread_is_404(client):
    with pytest.raises(NotFoundError):
        client.crons.create_for_thread(str(uuid.uuid4()), "echo", schedule="* * * * *")


def test_cron_fires_on_time_exactly_once_with_two_beats_racing(client, stack):
    """Two extra beat processes tick every second next to the stack's own: the one due firing makes one run."""
    for name in ("beat-race-1", "beat-race-2"):
        stack.start_beat(name, extra_env={"CRON_SCHEDULER_SLEEP_TIME": "1"})
    try:
        thread = client.threads.create()
        at = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)).replace(microsecond=0)
        cron = client.crons.create_for_thread(
            thread["thread_id"], "echo", schedule=_once_at(at), input={"value": "tick"}
        )
        assert datetime.datetime.fromisoformat(cron["next_run_date"]) == at

        def advanced():
            found = client.crons.search(thread_id=thread["thread_id"])
            return found and datetime.datetime.fromisoformat(found[0]["next_run_date"]) > at

        _wait_for(advanced, "the scheduler to claim the cron")
        ticks_at_claim = _beat_ticks(stack)
        runs = _wait_for(lambda: client.runs.list(thread["thread_id"]), "the cron's run")
        client.runs.join(thread["thread_id"], runs[0]["run_id"])
        # Every beat has ticked several times since the claim; still exactly one run.
        _wait_for(lambda: _beat_ticks(stack) >= ticks_at_claim + 3, "more scheduler ticks")
        runs = client.runs.list(thread["thread_id"])
        assert len(runs) == 1
        assert datetime.datetime.fromisoformat(runs[0]["created_at"]) >= at
        assert client.threads.get_state(thread["thread_id"])["values"]["value"] == "tick"
    finally:
        stack.stop("beat-race-1")
        stack.stop("beat-race-2")


def _once_at(at: datetime.datetime) -> str:
    """A six-field schedule (seconds last) that fires at this instant only (once a year)."""
    return f"{at.minute} {at.hour} {at.day} {at.month} * {at.second}"


def test_stateless_cron_with_keep_leaves_a_thread_with_the_run_result(client):
    tag = uuid.uuid4().hex
    at = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)).replace(microsecond=0)
    cron = client.crons.create(
        "echo", schedule=_once_at(at), input={"value": "from cron"}, metadata={"tag": tag}, on_run_completed="keep"
    )
    assert datetime.datetime.fromisoformat(cron["next_run_date"]) == at
    threads = _wait_for(lambda: client.threads.search(metadata={"tag": tag}), "the cron's thread")
    assert len(threads) == 1
    runs = client.runs.list(threads[0]["thread_id"])
    client.runs.join(threads[0]["thread_id"], runs[0]["run_id"])
    assert client.threads.get_state(threads[0]["thread_id"])["values"]["value"] == "from cron"


def _beat_ticks(stack) -> int:
    log = (stack.log_dir / "beat-race-1.log").read_text(errors="replace")
    return log.count("crons.fire_due_crons")
