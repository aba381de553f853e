import pytest

from assistants.services import assistant_create, assistant_delete
from threads.models import Thread
from threads.services import thread_create

pytestmark = pytest.mark.django_db(transaction=True)


def _thread_for(assistant_id) -> str:
    # The run engine stamps assistant_id into thread metadata on a thread's first run (clients cannot set it).
    thread = thread_create(metadata={"graph_id": "echo"})
    Thread.objects.filter(pk=thread.pk).update(metadata={"graph_id": "echo", "assistant_id": str(assistant_id)})
    return str(thread.thread_id)


def test_delete_threads_removes_threads_of_the_assistant_only():
    doomed = assistant_create(graph_id="echo")
    kept = assistant_create(graph_id="echo")
    doomed_thread, kept_thread = _thread_for(doomed.assistant_id), _thread_for(kept.assistant_id)

    assistant_delete(assistant_id=doomed.assistant_id, delete_threads=True)

    assert not Thread.objects.filter(thread_id=doomed_thread).exists()
    assert Thread.objects.filter(thread_id=kept_thread).exists()


def test_delete_without_delete_threads_keeps_threads():
    assistant = assistant_create(graph_id="echo")
    thread = _thread_for(assistant.assistant_id)

    assistant_delete(assistant_id=assistant.assistant_id)

    assert Thread.objects.filter(thread_id=thread).exists()
