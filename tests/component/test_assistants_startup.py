import pytest

from agentplatform import startup
from agentplatform.graphs import get_registry
from assistants.models import Assistant, system_assistant_id


def assert_every_graph_has_its_system_assistant() -> None:
    graph_ids = get_registry().graph_ids()
    found = Assistant.objects.filter(assistant_id__in=[system_assistant_id(g) for g in graph_ids])
    assert sorted(found.values_list("graph_id", flat=True)) == sorted(graph_ids)
    assert all(a.metadata == {"created_by": "system"} for a in found)


@pytest.mark.django_db(transaction=True)
def test_worker_start_creates_the_system_assistant_of_every_graph():
    from agentplatform.celery import start_worker_process

    start_worker_process()
    assert_every_graph_has_its_system_assistant()


@pytest.mark.django_db(transaction=True)
def test_api_start_creates_the_system_assistant_of_every_graph():
    startup.process_start(kind="api")  # what agentplatform.asgi runs before serving
    assert_every_graph_has_its_system_assistant()
