"""Run-completion webhooks: the URL policy (SSRF guard) and the delivery the worker makes when a run ends.

Configuration is the `webhooks` section of langgraph.json, with the official keys: `url` (the policy below),
`headers` (sent with every delivery; values may hold `${{ env.NAME }}` templates, resolved once at start-up, where
NAME must start with `env_prefix`, default "LG_WEBHOOK_") and `allowed_fields` (the payload keys sent).

Policy (`webhooks.url`): max_url_length (2048 once a url policy exists, else 4096), require_https (on once a url
policy exists), allowed_domains (exact hosts or `*.example.com` for subdomains), allowed_ports (default: any),
disable_loopback (default true) and disable_private_ips (default true here: the official server defaults to
false, and the issue that asked for this guard wants only globally routable targets unless configured).
Whatever the policy, a target must be a globally routable address: link-local, reserved, documentation,
multicast and cloud-metadata addresses are always refused, and an IPv4 address wrapped in IPv6 (mapped,
compatible, 6to4, NAT64) is judged as the IPv4 address it carries. Loopback and private ranges (RFC 1918,
100.64.0.0/10, fc00::/7) are refused unless the policy turns their flag off or the host is in allowed_domains
(an operator's explicit trust, as officially). The names localhost, localhost.localdomain and
host.docker.internal are refused by name with loopback, and trusted like an allowed domain without it (a
compose set-up's host.docker.internal is a private address), as officially. A relative URL (`/my-route`), which
the official server delivers into its own app, is refused: with the official message while loopback is refused,
else saying to give an absolute URL (docs/compatibility.md says why).

The URL is checked when the run is created and again right before each delivery: the name is resolved once,
every address it resolves to must pass, and the connection goes to that address (TLS still sends the hostname
as SNI and checks the certificate against it), so a DNS answer that changes in between cannot redirect it.
Redirects are not followed. Each attempt has an overall deadline and reads at most a few KiB of the answer;
network errors, 429 and 5xx are retried with backoff, on the worker's event loop, so a slow receiver never holds
a run slot.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import os
import random
import re
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx

from agentplatform import serde
from agentplatform.errors import InvalidInput
from agentplatform.graphs import get_registry
from agentplatform.langgraph_config import ConfigError
from runs.engine import worker_loop

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ATTEMPTS = 3
ATTEMPT_DEADLINE_SECS = 10.0
BACKOFF_SECS = 1.0
MAX_RESPONSE_BYTES = 16 * 1024
DEFAULT_ENV_PREFIX = "LG_WEBHOOK_"
VALID_FIELDS = frozenset(
    {
        "run_id", "thread_id", "assistant_id", "created_at", "updated_at", "metadata", "kwargs",
        "multitask_strategy", "status", "run_started_at", "run_ended_at", "webhook_sent_at", "values", "error",
    }
)  # fmt: skip
_TEMPLATE = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.amazonaws.com", "metadata", "instance-data"})
# Names of this machine, judged by name as officially: refused with loopback, trusted (any address) without.
_LOCALHOST_NAMES = frozenset({"localhost", "localhost.localdomain", "host.docker.internal"})
LOOPBACK_REFUSED = (
    "Loopback webhooks (relative URLs and localhost) are refused by default: they would call this server's own "
    "routes. Set webhooks.url.disable_loopback to false in langgraph.json to allow localhost targets, and only "
    "when you control every route they can reach."
)
RELATIVE_NOT_DELIVERED = (
    "Relative webhook URLs are not delivered here: runs end in worker processes, not in the API, so give the "
    "absolute URL of the route (e.g. http://localhost:2024/my-route)."
)
_METADATA_IPS = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


@dataclass(frozen=True)
class WebhookPolicy:
    max_url_length: int = 4096
    require_https: bool = False
    allowed_domains: tuple[str, ...] = ()
    allowed_ports: tuple[int, ...] = ()
    disable_loopback: bool = True
    disable_private_ips: bool = True
    headers: tuple[tuple[str, str], ...] = field(default=())
    allowed_fields: tuple[str, ...] = ()


_parsed: dict[int, tuple[Any, WebhookPolicy]] = {}


def webhook_policy() -> WebhookPolicy:
    """The policy of the loaded langgraph.json, parsed once; a ConfigError says what to fix (start-up raises it
    first: runs.apps)."""
    config = get_registry().config
    cached = _parsed.get(id(config))
    if cached is None or cached[0] is not config:
        cached = _parsed[id(config)] = (config, parse_webhooks_section(config.webhooks or {}))
    return cached[1]


def parse_webhooks_section(section: dict) -> WebhookPolicy:
    """langgraph.json's `webhooks` -> a policy, header templates resolved from the environment."""
    url = section.get("url")
    rules = url if isinstance(url, dict) else {}
    return WebhookPolicy(
        # A url policy without max_url_length gets the official 2048, no policy at all 4096.
        max_url_length=int(rules.get("max_url_length", 2048 if rules else 4096)),
        require_https=bool(rules.get("require_https", bool(rules))),
        allowed_domains=_allowed_domains(rules.get("allowed_domains")),
        allowed_ports=tuple(int(p) for p in rules.get("allowed_ports") or ()),
        disable_loopback=bool(rules.get("disable_loopback", True)),
        disable_private_ips=bool(rules.get("disable_private_ips", True)),
        headers=_rendered_headers(section),
        allowed_fields=_allowed_fields(section.get("allowed_fields")),
    )


def _allowed_domains(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(d, str) and d.strip() for d in raw):
        raise ConfigError(f"webhooks.url.allowed_domains must be a list of non-empty host names, got {raw!r}.")
    for domain in raw:
        if "*" in domain and not (domain.startswith("*.") and "*" not in domain[2:]):
            raise ConfigError(f"webhooks.url.allowed_domains: write a wildcard as '*.example.com', got {domain!r}.")
    return tuple(d.strip().lower() for d in raw)


def _allowed_fields(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
        raise ConfigError("webhooks.allowed_fields must be a list of payload field names.")
    unknown = sorted(set(raw) - VALID_FIELDS)
    if unknown:
        raise ConfigError(f"webhooks.allowed_fields: unknown {unknown}; valid fields are {sorted(VALID_FIELDS)}.")
    return tuple(raw)


def _rendered_headers(section: dict) -> tuple[tuple[str, str], ...]:
    headers = section.get("headers") or {}
    if not isinstance(headers, dict):
        raise ConfigError("webhooks.headers must be an object of header names and values.")
    prefix = section.get("env_prefix", DEFAULT_ENV_PREFIX)
    if not isinstance(prefix, str):
        raise ConfigError(f'webhooks.env_prefix must be a string (default "{DEFAULT_ENV_PREFIX}").')
    rendered = []
    for name, value in headers.items():
        if not isinstance(value, str):
            raise ConfigError(f"webhooks.headers.{name}: header values must be strings, got {value!r}.")
        rendered.append((str(name), _TEMPLATE.sub(lambda match: _env_value(match.group(1), prefix), value)))
    return tuple(rendered)


def _env_value(expression: str, prefix: str) -> str:
    """The value of one `${{ env.NAME }}` template."""
    name = expression.removeprefix("env.")
    if name == expression or not name or "." in name:
        raise ConfigError(f"webhooks.headers: write templates as ${{{{ env.{prefix}NAME }}}}, got '{expression}'.")
    if prefix and not name.startswith(prefix):
        raise ConfigError(f"webhooks.headers: the variable '{name}' must start with env_prefix '{prefix}'.")
    value = os.environ.get(name)
    if value is None:
        raise ConfigError(f"webhooks.headers: set the environment variable '{name}' (its value is sent).")
    return value


def _domain_allowed(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or (d.startswith("*.") and host.endswith(d[1:])) for d in domains)


def _check_shape(url: str, policy: WebhookPolicy) -> tuple[str, int]:
    if len(url) > policy.max_url_length:
        raise InvalidInput("Webhook URL too long")
    if url.startswith("/"):  # officially a call into the server's own app; see docs/compatibility.md
        raise InvalidInput(LOOPBACK_REFUSED if policy.disable_loopback else RELATIVE_NOT_DELIVERED)
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
    if policy.disable_loopback and host in _LOCALHOST_NAMES and not _domain_allowed(host, policy.allowed_domains):
        raise InvalidInput("Webhook host blocked: loopback IP range")  # the answer a loopback address gets
    return host, port


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, NAT64, compatible), which is where it leads."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(ip.packed[-4:])
    return None


def address_blocked(ip: IPAddress, policy: WebhookPolicy, *, trusted_host: bool = False) -> str | None:
    """Why a webhook may not connect to `ip` (None: it may). `trusted_host`: the name is in allowed_domains."""
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if inner is not None:
        return address_blocked(inner, policy, trusted_host=trusted_host)
    if ip in _METADATA_IPS:
        return "cloud metadata endpoint"
    if ip.is_loopback:
        return "loopback IP range" if policy.disable_loopback and not trusted_host else None
    if any(ip in network for network in _PRIVATE_NETWORKS):
        return "private IP range" if policy.disable_private_ips and not trusted_host else None
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local or not ip.is_global:
        return "link-local or reserved IP range"
    return None


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise InvalidInput(f"Invalid webhook hostname '{host}'") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def _allowed_address(host: str, addresses: list[str], policy: WebhookPolicy) -> str:
    """The address to connect to; every address the name resolves to must be allowed (a name that also
    resolves to an internal address could be answered with it next time)."""
    trusted = _domain_allowed(host, policy.allowed_domains) or (
        not policy.disable_loopback and host in _LOCALHOST_NAMES  # e.g. a compose set-up's host.docker.internal
    )
    for address in addresses:
        reason = address_blocked(ipaddress.ip_address(address.split("%")[0]), policy, trusted_host=trusted)
        if reason:
            raise InvalidInput(f"Webhook host blocked: {reason}")
    if not addresses:
        raise InvalidInput(f"Invalid webhook hostname '{host}'")
    return addresses[0]


def webhook_validate(url: str, policy: WebhookPolicy | None = None) -> str:
    """Check the URL against the policy, resolving its host; returns the address a delivery would connect to."""
    policy = policy or webhook_policy()
    host, port = _check_shape(url, policy)
    return _allowed_address(host, _resolve(host, port), policy)


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
    """Deliver in the background on the worker's event loop; failures are logged, never raised."""
    if (get_registry().config.http or {}).get("disable_webhooks"):
        logger.info("webhooks are disabled (http.disable_webhooks); not calling %s", url)
        return
    worker_loop.submit(webhook_deliver(url, payload)).add_done_callback(_report_bug)


def _report_bug(delivery: Any) -> None:
    # webhook_deliver logs every failure it expects; anything else would vanish with the future.
    if not delivery.cancelled() and delivery.exception() is not None:
        logger.error("webhook delivery failed", exc_info=delivery.exception())


async def webhook_deliver(url: str, payload: dict, policy: WebhookPolicy | None = None) -> int | None:
    """POST the payload, retrying network errors, 429 and 5xx with backoff. The last status, or None."""
    try:
        policy = policy or webhook_policy()
    except ConfigError:
        logger.exception("webhook %s not sent: langgraph.json's webhooks section is invalid", url)
        return None
    if policy.allowed_fields:
        payload = {k: v for k, v in payload.items() if k in policy.allowed_fields}
    body = serde.dumps(payload)
    status = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with asyncio.timeout(ATTEMPT_DEADLINE_SECS):
                status = await _post_once(url, body, policy)
        except InvalidInput as exc:
            logger.warning("webhook %s refused by the webhook policy: %s", url, exc.detail)
            return None
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            status = None
            logger.warning("webhook %s attempt %d failed: %r", url, attempt, exc)
        if status is not None and status != 429 and status < 500:
            logger.info("webhook %s answered %s", url, status)
            return status
        if attempt < ATTEMPTS:
            await asyncio.sleep(BACKOFF_SECS * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
    logger.warning("webhook %s gave up after %d attempts (last status %s)", url, ATTEMPTS, status)
    return status


@dataclass(frozen=True)
class _Pinned:
    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, Any]


async def _pin(url: str, policy: WebhookPolicy) -> _Pinned:
    """Resolve once, check, and aim the request at that address with the original Host and TLS server name."""
    host, port = _check_shape(url, policy)
    addresses = await asyncio.to_thread(_resolve, host, port)
    address = _allowed_address(host, addresses, policy)
    original = httpx.URL(url)
    extensions = {"sni_hostname": host} if original.scheme == "https" else {}
    return _Pinned(original.copy_with(host=address.split("%")[0]), {"Host": original.netloc.decode()}, extensions)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Verifies the certificate against the server name sent as SNI (check_hostname), not the pinned address.
    return ssl.create_default_context(cafile=certifi.where())


async def _post_once(url: str, body: bytes, policy: WebhookPolicy) -> int:
    target = await _pin(url, policy)
    headers = {**dict(policy.headers), "Content-Type": "application/json", **target.headers}
    timeout = httpx.Timeout(ATTEMPT_DEADLINE_SECS)
    async with httpx.AsyncClient(verify=_tls_context(), follow_redirects=False, trust_env=False, timeout=timeout) as c:
        request = c.build_request("POST", target.url, content=body, headers=headers, extensions=target.extensions)
        response = await c.send(request, stream=True)
        try:
            await _read_capped(response)
        finally:
            await response.aclose()
    return response.status_code


async def _read_capped(response: httpx.Response) -> bytes:
    """At most MAX_RESPONSE_BYTES of the answer: a receiver cannot make the worker read without end."""
    received = b""
    async for chunk in response.aiter_raw():
        received += chunk[: MAX_RESPONSE_BYTES - len(received)]
        if len(received) >= MAX_RESPONSE_BYTES:
            break
    return received
