"""Run-completion webhooks: the URL policy (SSRF guard) and the POST the worker makes when a run ends.

Policy (langgraph.json `webhooks.url`, official names): max_url_length (4096), require_https (on once a url policy
exists), allowed_domains (`*.example.com` wildcards), allowed_ports, disable_loopback (default true),
disable_private_ips (default false). Link-local and cloud-metadata addresses are always refused. The URL is
checked when the run is created and again, after DNS resolution, right before sending; the request then goes to
the validated address (HTTP) so a DNS answer that changes in between cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from agentplatform.errors import InvalidInput
from agentplatform.graphs import get_registry

logger = logging.getLogger(__name__)

_METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}
_TIMEOUT_SECS = 10.0


@dataclass(frozen=True)
class WebhookPolicy:
    max_url_length: int = 4096
    require_https: bool = False
    allowed_domains: tuple[str, ...] = ()
    allowed_ports: tuple[int, ...] = ()
    disable_loopback: bool = True
    disable_private_ips: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    allowed_fields: tuple[str, ...] = ()


def webhook_policy() -> WebhookPolicy:
    section = get_registry().config.webhooks or {}
    url = section.get("url")
    rules = url if isinstance(url, dict) else {}
    return WebhookPolicy(
        # A url policy without max_url_length gets the official 2048, no policy at all 4096.
        max_url_length=int(rules.get("max_url_length", 4096 if url is None else 2048)),
        require_https=bool(rules.get("require_https", url is not None)),
        allowed_domains=tuple(d.strip().lower() for d in rules.get("allowed_domains") or ()),
        allowed_ports=tuple(int(p) for p in rules.get("allowed_ports") or ()),
        disable_loopback=bool(rules.get("disable_loopback", True)),
        disable_private_ips=bool(rules.get("disable_private_ips", False)),
        headers=tuple((str(k), str(v)) for k, v in (section.get("headers") or {}).items()),
        allowed_fields=tuple(section.get("allowed_fields") or ()),
    )


def _domain_allowed(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or (d.startswith("*.") and host.endswith(d[1:])) for d in domains)


def _check_shape(url: str, policy: WebhookPolicy) -> tuple[str, int]:
    if len(url) > policy.max_url_length:
        raise InvalidInput("Webhook URL too long")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"Invalid webhook URL '{url}': use an absolute http(s) URL")
    if policy.require_https and scheme != "https":
        raise InvalidInput("Webhook must use https")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise InvalidInput(f"Invalid webhook URL '{url}': bad port") from None
    if policy.allowed_ports and port not in policy.allowed_ports:
        raise InvalidInput(f"Webhook port {port} not allowed")
    host = parts.hostname.lower()
    if policy.allowed_domains and not _domain_allowed(host, policy.allowed_domains):
        raise InvalidInput("Webhook domain not allowed")
    if host in _METADATA_HOSTS:
        raise InvalidInput("Webhook host blocked: cloud metadata endpoint")
    return host, port


def _blocked_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, policy: WebhookPolicy) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback IP range" if policy.disable_loopback else None
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "link-local or reserved IP range"
    if ip.is_private and policy.disable_private_ips:
        return "private IP range"
    return None


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise InvalidInput(f"Invalid webhook hostname '{host}'") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def webhook_validate(url: str, policy: WebhookPolicy | None = None) -> str:
    """Check the URL against the policy; every address its host resolves to must be allowed. Returns one."""
    policy = policy or webhook_policy()
    host, port = _check_shape(url, policy)
    addresses = _resolve(host, port)
    for address in addresses:
        reason = _blocked_reason(ipaddress.ip_address(address.split("%")[0]), policy)
        if reason:
            raise InvalidInput(f"Webhook host blocked: {reason}")
    return addresses[0]


def _pinned(url: str, address: str) -> tuple[str, dict]:
    """For plain HTTP, connect to the validated address and keep the original Host header."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return url, {}  # TLS needs the name for SNI and certificate checks; it was validated just before
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc}


def webhook_payload(run_json: dict, *, values: Any, error: dict | None, started_at: Any, ended_at: Any) -> dict:
    payload = {
        **run_json,
        "run_started_at": started_at.isoformat() if started_at else None,
        "run_ended_at": ended_at.isoformat() if ended_at else None,
        "webhook_sent_at": datetime.now(UTC).isoformat(),
        "values": values,
    }
    if error is not None:
        payload["error"] = error
    return payload


def webhook_send(url: str, payload: dict) -> None:
    """POST the payload once (no redirects, short timeout). Failures are logged, never raised."""
    if (get_registry().config.http or {}).get("disable_webhooks"):
        logger.info("webhooks are disabled (http.disable_webhooks); not calling %s", url)
        return
    policy = webhook_policy()
    if policy.allowed_fields:
        payload = {k: v for k, v in payload.items() if k in policy.allowed_fields}
    try:
        address = webhook_validate(url, policy)
        target, headers = _pinned(url, address)
        response = httpx.post(target, json=payload, headers={**dict(policy.headers), **headers}, timeout=_TIMEOUT_SECS)
        logger.info("webhook %s answered %s", url, response.status_code)
    except Exception:
        logger.warning("webhook %s failed", url, exc_info=True)
