import uuid

import pytest

from agentplatform.errors import InvalidInput, NotFound
from agentplatform.graphs import system_assistant_id
from assistants import selectors, services
from assistants.models import Assistant

pytestmark = pytest.mark.django_db


def test_resolve_graph_name_returns_system_assistant_creating_it_if_missing():
    assistant = selectors.assistant_resolve(assistant_id="echo")
    assert assistant.assistant_id == uuid.uuid5(uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), "echo")
    assert assistant.name == "echo"
    assert assistant.metadata == {"created_by": "system"}
    assert assistant.version == 1
    assert assistant.versions.count() == 1


def test_resolve_graph_name_prefers_system_assistant_over_other_assistants_of_that_graph():
    services.assistant_create(graph_id="echo", name="first")
    assert selectors.assistant_resolve(assistant_id="echo").assistant_id == system_assistant_id("echo")


def test_resolve_uuid_string_returns_that_assistant():
    created = services.assistant_create(graph_id="echo")
    assert selectors.assistant_resolve(assistant_id=str(created.assistant_id)) == created
    assert selectors.assistant_resolve(assistant_id=created.assistant_id) == created


def test_resolve_unknown_uuid_is_not_found():
    with pytest.raises(NotFound):
        selectors.assistant_resolve(assistant_id=str(uuid.uuid4()))


def test_resolve_unknown_name_is_invalid_input_listing_registered_graphs():
    with pytest.raises(InvalidInput) as excinfo:
        selectors.assistant_resolve(assistant_id="nope")
    assert excinfo.value.status_code == 422
    assert excinfo.value.detail.startswith("Invalid assistant: 'nope'. Must be either:\n- A valid assistant UUID, or\n")
    assert "- One of the registered graphs: echo, interrupt," in excinfo.value.detail


def test_get_rejects_non_uuid_with_official_wording():
    with pytest.raises(InvalidInput) as excinfo:
        selectors.assistant_get(assistant_id="echo")
    assert excinfo.value.detail == "Invalid assistant ID: must be a UUID"


def test_get_unknown_is_generic_not_found():
    with pytest.raises(NotFound) as excinfo:
        selectors.assistant_get(assistant_id=uuid.uuid4())
    assert excinfo.value.detail == "Not Found"


def test_get_hides_assistants_of_graphs_no_longer_served():
    orphan = Assistant.objects.create(graph_id="removed_graph")
    with pytest.raises(NotFound):
        selectors.assistant_get(assistant_id=orphan.assistant_id)
