"""The webhook URL policy (reliability.md §6, api-surface §2.12): what is refused before any request is sent."""

from __future__ import annotations

import pytest

from agentplatform.errors import InvalidInput
from runs.engine.webhooks import WebhookPolicy, webhook_payload, webhook_validate

DEFAULT = WebhookPolicy()
LOOPBACK_OK = WebhookPolicy(disable_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://2130706433/hook",
    ],
)
def test_loopback_is_refused_by_default(url):
    with pytest.raises(InvalidInput, match="Webhook host blocked: loopback IP range"):
        webhook_validate(url, DEFAULT)


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest", "http://metadata.google.internal/x", "http://0.0.0.0/"]
)
def test_metadata_and_link_local_are_always_refused(url):
    with pytest.raises(InvalidInput, match="Webhook host blocked"):
        webhook_validate(url, LOOPBACK_OK)


@pytest.mark.parametrize("url", ["/runs/hook", "file:///etc/passwd", "gopher://127.0.0.1/", "http:///nohost"])
def test_relative_and_non_http_urls_are_refused(url):
    with pytest.raises(InvalidInput):
        webhook_validate(url, LOOPBACK_OK)


def test_loopback_is_allowed_when_the_policy_says_so():
    assert webhook_validate("http://127.0.0.1:8123/hook", LOOPBACK_OK) == "127.0.0.1"


def test_private_ips_are_refused_unless_allowed():
    # Stricter than the official default (private allowed): issue 10 wants only global targets unless configured.
    assert webhook_validate("http://10.1.2.3/hook", WebhookPolicy(disable_private_ips=False)) == "10.1.2.3"
    with pytest.raises(InvalidInput, match="private IP range"):
        webhook_validate("http://10.1.2.3/hook", DEFAULT)


def test_https_ports_domains_and_length_rules():
    with pytest.raises(InvalidInput, match="Webhook must use https"):
        webhook_validate("http://10.0.0.1/", WebhookPolicy(require_https=True))
    with pytest.raises(InvalidInput, match="Webhook port 8080 not allowed"):
        webhook_validate("http://10.0.0.1:8080/", WebhookPolicy(allowed_ports=(443,)))
    with pytest.raises(InvalidInput, match="Webhook domain not allowed"):
        webhook_validate("https://evil.example.org/", WebhookPolicy(allowed_domains=("*.example.com",)))
    with pytest.raises(InvalidInput, match="Webhook URL too long"):
        webhook_validate("https://a.example.com/" + "x" * 5000, DEFAULT)


def test_payload_carries_run_fields_times_values_and_error():
    payload = webhook_payload(
        {"run_id": "r", "status": "error"},
        values={"v": 1},
        error={"error": "E", "message": "m"},
        started_at=None,
        ended_at=None,
    )
    assert payload["run_id"] == "r"
    assert payload["values"] == {"v": 1}
    assert payload["error"] == {"error": "E", "message": "m"}
    assert {"run_started_at", "run_ended_at", "webhook_sent_at"} <= set(payload)
