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


def test_admin_login_page_is_served_with_its_stylesheet(stack):
    page = httpx.get(f"{stack.url}/admin/login/")
    assert page.status_code == 200
    assert "csrfmiddlewaretoken" in page.text  # the admin's CSRF/session middleware ran
    css = httpx.get(f"{stack.url}/static/admin/css/base.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]


def test_api_responses_set_no_session_cookie(stack):
    response = httpx.post(f"{stack.url}/threads", json={})
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
