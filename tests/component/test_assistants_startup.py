import pytest

from agentplatform.graphs import get_registry, system_assistant_id
from assistants.models import Assistant


@pytest.mark.django_db(transaction=True)
def test_worker_start_creates_the_system_assistant_of_every_graph():
    from agentplatform.celery import ensure_system_assistants

    ensure_system_assistants()
    graph_ids = get_registry().graph_ids()
    found = Assistant.objects.filter(assistant_id__in=[system_assistant_id(g) for g in graph_ids])
    assert sorted(found.values_list("graph_id", flat=True)) == sorted(graph_ids)
    assert all(a.metadata == {"created_by": "system"} for a in found)
