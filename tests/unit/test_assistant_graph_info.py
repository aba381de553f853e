import pytest

from agentplatform.errors import InvalidInput
from assistants.graph_info import parse_xray


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, False), ("", False), ("false", False), ("False", False), ("true", True), ("True", True), ("2", 2)],
)
def test_parse_xray_accepts_booleans_and_positive_depths(raw, expected):
    assert parse_xray(raw) == expected


@pytest.mark.parametrize("raw", ["0", "-1", "yes", "1.5"])
def test_parse_xray_rejects_anything_else_with_official_detail(raw):
    with pytest.raises(InvalidInput, match=r"^Invalid xray value$"):
        parse_xray(raw)
