import uuid

import pytest

from agentplatform.errors import InvalidInput, NotFound
from assistants import selectors
from assistants.models import Assistant

pytestmark = pytest.mark.django_db


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
