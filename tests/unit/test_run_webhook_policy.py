"""The webhook address policy and the `webhooks` section of langgraph.json (issue 10.7), as pure functions."""

from __future__ import annotations

import ipaddress
import json

import pytest

from agentplatform.errors import InvalidInput
from agentplatform.langgraph_config import ConfigError, load_config
from runs.engine.webhooks import (
    LOOPBACK_REFUSED,
    RELATIVE_NOT_DELIVERED,
    WebhookPolicy,
    address_blocked,
    parse_webhooks_section,
    webhook_validate,
)

DEFAULT = WebhookPolicy()
OPEN = WebhookPolicy(disable_loopback=False, disable_private_ips=False)


def blocked(address: str, policy: WebhookPolicy = DEFAULT, **kwargs) -> str | None:
    return address_blocked(ipaddress.ip_address(address), policy, **kwargs)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]
)
def test_globally_routable_addresses_pass_also_in_ipv6_forms(address):
    assert blocked(address) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback IP range"),
        ("127.8.9.10", "loopback IP range"),
        ("::1", "loopback IP range"),
        ("10.0.0.1", "private IP range"),
        ("172.16.5.4", "private IP range"),
        ("192.168.1.1", "private IP range"),
        ("100.64.0.1", "private IP range"),
        ("100.127.255.254", "private IP range"),
        ("fd12:3456::1", "private IP range"),
        ("::ffff:10.0.0.1", "private IP range"),
        ("::ffff:127.0.0.1", "loopback IP range"),
        ("::127.0.0.1", "loopback IP range"),
        ("64:ff9b::7f00:1", "loopback IP range"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata endpoint"),
        ("2002:7f00:1::1", "loopback IP range"),
        ("2002:a00:1::1", "private IP range"),
    ],
)
def test_loopback_and_private_ranges_in_any_form_are_refused_by_default(address, reason):
    assert blocked(address) == reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "cloud metadata endpoint"),
        ("169.254.170.2", "cloud metadata endpoint"),
        ("100.100.100.200", "cloud metadata endpoint"),
        ("fd00:ec2::254", "cloud metadata endpoint"),
        ("169.254.1.1", "link-local or reserved IP range"),
        ("fe80::1", "link-local or reserved IP range"),
        ("0.0.0.0", "link-local or reserved IP range"),
        ("::", "link-local or reserved IP range"),
        ("192.0.2.10", "link-local or reserved IP range"),
        ("198.18.0.1", "link-local or reserved IP range"),
        ("224.0.0.1", "link-local or reserved IP range"),
        ("ff0e::1", "link-local or reserved IP range"),
        ("240.0.0.1", "link-local or reserved IP range"),
        ("255.255.255.255", "link-local or reserved IP range"),
        ("2001::1", "link-local or reserved IP range"),
        ("64:ff9b:1::1", "link-local or reserved IP range"),
        ("2001:db8::1", "link-local or reserved IP range"),
    ],
)
def test_metadata_link_local_and_reserved_are_refused_whatever_the_policy(address, reason):
    assert blocked(address, OPEN) == reason
    assert blocked(address, OPEN, trusted_host=True) == reason


def test_loopback_and_private_pass_when_the_policy_or_a_trusted_domain_allows():
    assert blocked("127.0.0.1", OPEN) is None
    assert blocked("100.64.1.1", OPEN) is None
    assert blocked("10.0.0.1", DEFAULT, trusted_host=True) is None


def test_a_relative_url_is_refused_as_loopback_by_default_and_asks_for_an_absolute_url_otherwise():
    with pytest.raises(InvalidInput) as refused:
        webhook_validate("/my-route", DEFAULT)
    assert refused.value.detail == LOOPBACK_REFUSED
    with pytest.raises(InvalidInput) as undelivered:
        webhook_validate("/my-route", OPEN)
    assert undelivered.value.detail == RELATIVE_NOT_DELIVERED
    with pytest.raises(InvalidInput, match="too long"):  # the length is checked first, as officially
        webhook_validate("/" + "x" * 5000, OPEN)


def _resolving_to(monkeypatch, address: str) -> None:
    monkeypatch.setattr("socket.getaddrinfo", lambda *args, **kwargs: [(2, 1, 6, "", (address, 80))])


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.localdomain", "host.docker.internal"])
def test_localhost_names_are_refused_by_name_with_loopback_and_trusted_without(monkeypatch, host):
    _resolving_to(monkeypatch, "172.17.0.1")  # what host.docker.internal is in a compose set-up: private
    with pytest.raises(InvalidInput, match="loopback IP range"):
        webhook_validate(f"http://{host}:8080/hook", DEFAULT)
    assert webhook_validate(f"http://{host}:8080/hook", WebhookPolicy(disable_loopback=False)) == "172.17.0.1"
    _resolving_to(monkeypatch, "169.254.169.254")
    with pytest.raises(InvalidInput, match="cloud metadata"):  # never, whatever the name
        webhook_validate(f"http://{host}/hook", WebhookPolicy(disable_loopback=False))


def test_url_policy_defaults_follow_the_official_keys():
    assert parse_webhooks_section({}) == WebhookPolicy()
    strict = parse_webhooks_section({"url": {"allowed_ports": [443]}})
    assert (strict.require_https, strict.max_url_length, strict.allowed_ports) == (True, 2048, (443,))
    relaxed = parse_webhooks_section({"url": {"disable_loopback": False, "disable_private_ips": False}})
    assert (relaxed.disable_loopback, relaxed.disable_private_ips) == (False, False)


def test_header_templates_read_prefixed_environment_variables(monkeypatch):
    monkeypatch.setenv("LG_WEBHOOK_TOKEN", "s3cret")
    monkeypatch.setenv("HOOK_ID", "7")
    policy = parse_webhooks_section({"headers": {"Authorization": "Bearer ${{ env.LG_WEBHOOK_TOKEN }}", "X": "a"}})
    assert dict(policy.headers) == {"Authorization": "Bearer s3cret", "X": "a"}
    custom = parse_webhooks_section({"env_prefix": "HOOK_", "headers": {"X-Id": "${{env.HOOK_ID}}-${{ env.HOOK_ID }}"}})
    assert dict(custom.headers) == {"X-Id": "7-7"}
    anything = parse_webhooks_section({"env_prefix": "", "headers": {"X": "${{ env.HOOK_ID }}"}})
    assert dict(anything.headers) == {"X": "7"}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"headers": {"A": "${{ env.HOME }}"}}, "must start with env_prefix 'LG_WEBHOOK_'"),
        ({"headers": {"A": "${{ env.LG_WEBHOOK_MISSING }}"}}, "set the environment variable 'LG_WEBHOOK_MISSING'"),
        ({"headers": {"A": "${{ secrets.X }}"}}, "write templates as"),
        ({"headers": {"A": "${{ env.LG_WEBHOOK_A.B }}"}}, "write templates as"),
        ({"headers": {"A": 1}}, "header values must be strings"),
        ({"env_prefix": None, "headers": {"A": "x"}}, "env_prefix must be a string"),
        ({"url": {"allowed_domains": ["a.*.com"]}}, "write a wildcard as"),
        ({"allowed_fields": ["run_id", "password"]}, "unknown ['password']"),
    ],
)
def test_a_bad_webhooks_section_is_a_config_error_that_says_what_to_fix(section, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_webhooks_section(section)


def test_webhook_header_templates_are_filled_from_prefixed_variables(tmp_path, monkeypatch):
    """From the file as start-up loads it: only variables with the prefix are read (others could leak)."""
    monkeypatch.setenv("LG_WEBHOOK_TOKEN", "s3cret")
    monkeypatch.setenv("OTHER_TOKEN", "leak")
    path = tmp_path / "langgraph.json"
    hooks = {"headers": {"Authorization": "Bearer ${{ env.LG_WEBHOOK_TOKEN }}", "X-Static": "v"}}
    path.write_text(json.dumps({"graphs": {"g": "./g.py:graph"}, "webhooks": hooks}))
    policy = parse_webhooks_section(load_config(path).webhooks)
    assert dict(policy.headers) == {"Authorization": "Bearer s3cret", "X-Static": "v"}
    hooks["headers"]["Authorization"] = "${{ env.OTHER_TOKEN }}"
    path.write_text(json.dumps({"graphs": {"g": "./g.py:graph"}, "webhooks": hooks}))
    with pytest.raises(ConfigError, match=r"must start with env_prefix 'LG_WEBHOOK_'"):
        parse_webhooks_section(load_config(path).webhooks)
