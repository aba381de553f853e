import httpx
import pytest

pytestmark = pytest.mark.integration


def test_ok_answers_once_server_is_ready(stack):
    response = httpx.get(f"{stack.url}/ok")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_info_reports_version_and_flags(stack):
    body = httpx.get(f"{stack.url}/info").json()
    assert body["version"]
    assert body["flags"]["assistants"] is True


def test_unknown_path_is_json_404(stack):
    response = httpx.get(f"{stack.url}/no/such/path")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
