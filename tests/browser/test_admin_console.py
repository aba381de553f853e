"""An operator runs the service from the admin, in a real browser against the real stack (Daphne, a Celery
worker, beat, PostgreSQL, Redis): the dashboard's figures agree with the database, a thread reads as a chat, an
interrupt is answered from the form and its run followed to the end, a running run is cancelled, a failed one
retried, a thread's checkpoints paged through. Runs are started with langgraph_sdk, as a client would."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.browser]

TERMINAL = ("success", "error", "timeout", "interrupted")
STATUSES = ("pending", "running", "success", "error", "timeout", "interrupted")


def wait_status(client, thread_id: str, run_id: str, statuses=TERMINAL, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.runs.get(thread_id, run_id)
        if run["status"] in statuses:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")


def shot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def say(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


@pytest.fixture(scope="module")
def scene(stack) -> dict:
    """A chat thread with four turns, a thread waiting at an interrupt, a failed run and a run that sleeps."""
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=stack.url)
    chat = client.threads.create()["thread_id"]
    for turn in range(4):
        client.runs.wait(chat, "echo", input=say(f"hello {turn}"))
    approval = client.threads.create()["thread_id"]
    client.runs.wait(approval, "agent", input=say("2000 * 3000"))
    failing = client.threads.create()["thread_id"]
    failed = client.runs.create(failing, "fail", input={"value": "boom"})
    wait_status(client, failing, failed["run_id"])
    sleeper = client.threads.create()["thread_id"]
    sleeping = client.runs.create(sleeper, "sleepy", input={"seconds": 120})
    wait_status(client, sleeper, sleeping["run_id"], statuses=("running",))
    return {
        "chat": chat,
        "approval": approval,
        "failing": (failing, failed["run_id"]),
        "sleeping": (sleeper, sleeping["run_id"]),
    }


def dashboard_figures(page) -> dict:
    page.goto("/admin/")
    day = page.locator('#runs-by-status tr[data-window="last day"]')
    figures = {status: int(day.locator(f'td[data-status="{status}"]').inner_text()) for status in STATUSES}
    for name in ("pending", "running"):
        figures[f"queue:{name}"] = int(page.locator(f'#queue td[data-figure="{name}"]').inner_text())
    figures["workers"] = {
        row.get_attribute("data-worker"): int(row.locator('td[data-figure="leases"]').inner_text().split(":")[0])
        for row in page.locator("#workers tr[data-worker]").all()
    }
    return figures


def database_figures(stack) -> dict:
    rows = stack.sql("SELECT status, count(*) FROM runs_run WHERE created_at >= now() - interval '1 day' GROUP BY 1")
    figures = {status: 0 for status in STATUSES} | dict(rows)
    queue = dict(stack.sql("SELECT status, count(*) FROM runs_run WHERE status IN ('pending', 'running') GROUP BY 1"))
    figures["queue:pending"], figures["queue:running"] = queue.get("pending", 0), queue.get("running", 0)
    leases = stack.sql("SELECT lease_owner FROM runs_run WHERE status = 'running'")
    workers: dict[str, int] = {}
    for (owner,) in leases:
        name = owner.rsplit(":", 1)[0]
        workers[name] = workers.get(name, 0) + 1
    figures["workers"] = workers
    return figures


def test_dashboard_figures_agree_with_the_database(admin_page, scene, stack, screenshots):
    # Runs may move between the two reads (beat, the sweeper): compare until one pair of reads agrees.
    for _ in range(10):
        shown, stored = dashboard_figures(admin_page), database_figures(stack)
        if shown == stored:
            break
        time.sleep(0.5)
    assert shown == stored
    assert stored["running"] >= 1 and stored["error"] >= 1 and sum(stored["workers"].values()) >= 1
    assert admin_page.locator("#failures").inner_text().count("kaboom") >= 1
    shot(admin_page, screenshots, "01-dashboard")
    admin_page.click("text=API keys")
    admin_page.wait_for_url("**/admin/access/apikey/")


def test_a_thread_reads_as_a_chat(admin_page, scene, screenshots):
    admin_page.goto(f"/admin/threads/thread/{scene['chat']}/change/")
    human = admin_page.locator('#thread-chat .console-msg[data-role="human"]')
    ai = admin_page.locator('#thread-chat .console-msg[data-role="ai"]')
    assert human.count() == 4 and ai.count() == 4
    assert "hello 3" in human.nth(3).inner_text() and "echo: hello 3" in ai.nth(3).inner_text()
    shot(admin_page, screenshots, "02-thread-chat")


def test_resume_an_interrupt_from_the_form_and_see_the_run_finish(admin_page, scene, client, screenshots):
    admin_page.goto(f"/admin/threads/thread/{scene['approval']}/change/")
    assert "The answer is large" in admin_page.locator("#thread-interrupt").inner_text()
    shot(admin_page, screenshots, "03-thread-interrupt")
    admin_page.fill("#resume-value", '"yes"')
    admin_page.click("#resume-submit")

    admin_page.wait_for_url(re.compile(r"/admin/runs/run/[0-9a-f-]+/change/"))
    admin_page.wait_for_selector('#run-status[data-status="success"]', timeout=60_000)
    admin_page.wait_for_selector('#run-events-note[data-finished="true"]')
    events = admin_page.locator("#run-events-body tr").evaluate_all("rows => rows.map(r => r.dataset.event)")
    assert events[0] == "metadata" and "values" in events
    shot(admin_page, screenshots, "04-resumed-run")

    assert client.threads.get(scene["approval"])["status"] == "idle"
    admin_page.goto(f"/admin/threads/thread/{scene['approval']}/change/")
    assert "The answer is 6e+06." in admin_page.locator('#thread-chat .console-msg[data-role="ai"]').last.inner_text()
    assert admin_page.locator("#thread-interrupt").count() == 0


def test_cancel_a_running_run(admin_page, scene, client, screenshots):
    thread_id, run_id = scene["sleeping"]
    admin_page.goto(f"/admin/runs/run/{run_id}/change/")
    admin_page.wait_for_selector('#run-events-live:text("live")')
    shot(admin_page, screenshots, "05-running-run")
    admin_page.click("#cancel-interrupt")
    admin_page.wait_for_selector('#run-status[data-status="interrupted"]', timeout=30_000)
    assert "Cancelled (interrupt)." in admin_page.locator(".messagelist").inner_text()
    assert client.runs.get(thread_id, run_id)["status"] == "interrupted"
    shot(admin_page, screenshots, "06-cancelled-run")


def test_retry_a_failed_run(admin_page, scene, client, stack, screenshots):
    thread_id, run_id = scene["failing"]
    admin_page.goto(f"/admin/runs/run/{run_id}/change/")
    assert "kaboom" in admin_page.locator(".field-pretty_error").inner_text()
    admin_page.click("#retry")
    admin_page.wait_for_url(re.compile(r"/admin/runs/run/[0-9a-f-]+/change/"))
    new_run_id = admin_page.url.rstrip("/").split("/")[-2]
    assert new_run_id != run_id
    admin_page.wait_for_selector('#run-status[data-status="error"]', timeout=60_000)
    retried = client.runs.get(thread_id, new_run_id)
    assert retried["kwargs"]["input"] == {"value": "boom"}
    assert retried["assistant_id"] == client.runs.get(thread_id, run_id)["assistant_id"]
    logged = stack.sql("SELECT change_message FROM django_admin_log WHERE object_id = %s", (new_run_id,))
    assert logged == [(f"Retry of {run_id}.",)]
    shot(admin_page, screenshots, "07-retried-run")


def test_page_through_a_threads_checkpoints(admin_page, scene, client, screenshots):
    admin_page.goto(f"/admin/threads/thread/{scene['chat']}/change/")
    checkpoints = "#thread-history li[data-checkpoint]"

    def shown() -> list[str]:
        return [item.get_attribute("data-checkpoint") for item in admin_page.locator(checkpoints).all()]

    first = shown()
    history = client.threads.get_history(scene["chat"], limit=100)
    assert first == [state["checkpoint_id"] for state in history[:10]]
    with admin_page.expect_navigation():  # a link: read the next page, not the one being left
        admin_page.click("#history-older")
    second = shown()
    assert second == [state["checkpoint_id"] for state in history[10:20]]
    shot(admin_page, screenshots, "08-checkpoints-page-2")
    with admin_page.expect_navigation():
        admin_page.click("#history-newer")
    assert shown() == first


def test_assistant_graph_and_store_tree_render(admin_page, scene, client, screenshots):
    assistant = client.assistants.search(graph_id="agent")[0]
    admin_page.goto(f"/admin/assistants/assistant/{assistant['assistant_id']}/change/")
    assert admin_page.locator('#assistant-graph g[data-node="calculate"]').count() == 1
    shot(admin_page, screenshots, "09-assistant")
    client.store.put_item(["admin-tour", "notes"], "first", {"text": "hello"}, index=False)
    admin_page.goto("/admin/store/storeitem/tree/?namespace=admin-tour")
    assert admin_page.locator("#store-children").inner_text().count("admin-tour.notes") == 1
    shot(admin_page, screenshots, "10-store-tree")
