"""Bad input gets a 4xx with a JSON `{"detail": ...}` body, never a 5xx: a bounded, seeded fuzz of every endpoint.

The corpus is hand-made (reliability.md §6 "What to fuzz"); bodies are sent as raw bytes so values Python's `json`
would never produce (lone surrogates, NaN, duplicate keys, 10k-deep nesting) reach the server unchanged.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator

import httpx
import pytest

pytestmark = pytest.mark.integration

SEED = 20261122
DEEP = "[" * 10_000 + "]" * 10_000
BIG = str(2**70)
INT64_MAX = str(2**63 - 1)

# Raw JSON texts substituted for one field at a time.
VALUES = [
    "null",
    '"x"',
    "1",
    "-1",
    "9223372036854775807",
    BIG,
    "-" + BIG,
    INT64_MAX,
    "1.5",
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "[]",
    "{}",
    '["x", 1]',
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\ud800"',
    '{"\\u0000k": 1}',
    '{"k": "\\ud800"}',
    '{"\\ud800": 1}',
    '{"a\'\\"; DROP TABLE x; --": 1}',
    '{"$.a[0] ? (@ > 1)": "x", "a->>b": {"c": NaN}}',
    '"../../etc/passwd"',
    '"a\\r\\nb"',
    '"' + "x" * 5000 + '"',
    DEEP,
]

# Whole bodies sent to every endpoint that reads one: (content, content-type).
BODIES = [
    (b"", "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b"[{}]", "application/json"),
    (b'"str"', "application/json"),
    (b"123", "application/json"),
    (b"{", "application/json"),
    (b"not json", "application/json"),
    (b'{"a": 1, "a": 2}', "application/json"),
    (b'{"limit": 1, "limit": -1}', "application/json"),
    (b"NaN", "application/json"),
    (b'{"x": NaN}', "application/json"),
    (DEEP.encode(), "application/json"),
    (("{" + '"a":{' * 10_000 + "}" * 10_001).encode(), "application/json"),
    (b'{"\\ud800": 1}', "application/json"),
    (b'{"\\u0000": "\\u0000"}', "application/json"),
    (b'{"a": "\xff\xfe"}', "application/json"),
    (b"\xff\xfe\x00", "application/json"),
    (b"{}", "text/plain"),
    (b"a=1&b=2", "application/x-www-form-urlencoded"),
    (b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n", "multipart/form-data; boundary=x"),
    (b"{}", "application/json; charset=latin-1"),
    # Views that parse JSON whatever the Content-Type must not get past the strict checks by a form type.
    (DEEP.encode(), "application/x-www-form-urlencoded"),
    (b'{"x": NaN, "y": "\\u0000"}', "multipart/form-data; boundary=x"),
    (b'{"x": "\\ud800"}', "text/plain"),
    (b"{}", ""),
]

BAD_IDS = [
    "not-a-uuid",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2F..%2F",
    "%00",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff%00",
    "x" * 300,
    "%F0%9F%92%A9",
    "%ED%A0%80",
    "1",
]

QUERY_VALUES = [
    "",
    "x",
    "-1",
    "9223372036854775807",
    BIG,
    "-" + BIG,
    "1.5",
    "nan",
    "%00",
    "a%0D%0Ab",
    "[",
    '["x"',
    "null",
    "true",
    "%ED%A0%80",
]

WEBHOOKS = [
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost/",
    "not a url",
    "http://\u0000/",
    "http:///",
]

RUN_FIELDS = [
    "assistant_id",
    "input",
    "command",
    "config",
    "context",
    "metadata",
    "stream_mode",
    "stream_subgraphs",
    "stream_resumable",
    "multitask_strategy",
    "if_not_exists",
    "on_disconnect",
    "on_completion",
    "webhook",
    "interrupt_before",
    "interrupt_after",
    "checkpoint",
    "checkpoint_id",
    "checkpoint_during",
    "after_seconds",
    "feedback_keys",
    "durability",
]
CRON_FIELDS = ["assistant_id", "schedule", "input", "config", "context", "metadata", "webhook", "end_time"]
CRON_FIELDS += ["enabled", "timezone", "on_run_completed", "interrupt_before", "interrupt_after", "multitask_strategy"]
SEARCH_FIELDS = ["metadata", "limit", "offset", "sort_by", "sort_order", "select"]

EXCEPTIONS = {
    # The official server answers a store GET without `key` like this (api-surface.md).
    ("GET", "/store/items"): {"error": "Key is required"},
}


class Fuzzer:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.failures: list[str] = []
        self.count = 0

    def send(
        self, method: str, path: str, *, content: bytes | None = None, ctype: str = "application/json", headers=None
    ):
        hdrs = dict(headers or {})
        if content is not None and ctype:
            hdrs["Content-Type"] = ctype
        self.count += 1
        try:
            with self.http.stream(method, path, content=content, headers=hdrs) as response:
                is_sse = response.headers.get("content-type", "").startswith("text/event-stream")
                body = b"" if (is_sse and response.status_code == 200) else response.read()
        except httpx.HTTPError as exc:
            self.failures.append(f"{method} {path} [{(content or b'')[:80]!r}] -> {type(exc).__name__}: {exc}")
            return
        if status_of_twisted_multipart(ctype, response.status_code, body):
            return
        self.check(method, path, content, response.status_code, body)

    def check(self, method: str, path: str, content: bytes | None, status: int, body: bytes) -> None:
        what = f"{method} {path[:120]} [{(content or b'')[:120]!r}]"
        if status >= 500:
            self.failures.append(f"{what} -> {status} {body[:300]!r}")
            return
        if status < 400:
            return
        try:
            data = json.loads(body)
        except ValueError:
            self.failures.append(f"{what} -> {status} non-JSON {body[:200]!r}")
            return
        if EXCEPTIONS.get((method, path.split("?")[0])) == data:
            return
        if not (isinstance(data, dict) and isinstance(data.get("detail"), str)):
            self.failures.append(f"{what} -> {status} without string detail: {body[:200]!r}")


def status_of_twisted_multipart(ctype: str, status: int, body: bytes) -> bool:
    """Twisted (under Daphne) parses a multipart body itself and answers a malformed one with a bare 400 before
    the application sees the request: a 4xx, but out of our reach."""
    return ctype.startswith("multipart/") and status == 400 and not body


def with_field(base: dict, field: str, raw: str) -> bytes:
    """`base` with `field` replaced by the raw JSON text `raw` (which json.dumps could not produce)."""
    rest = json.dumps({k: v for k, v in base.items() if k != field})
    head = '{"' + field + '": ' + raw
    return (head + "}" if rest == "{}" else head + ", " + rest[1:]).encode()


def field_cases(rng: random.Random, base: dict, fields: list[str], per_field: int) -> Iterator[bytes]:
    """Every field gets a seeded sample of the value corpus (always including the nastiest few)."""
    must = ['"\\u0000"', '"\\ud800"', "NaN", BIG, INT64_MAX, DEEP, '{"\\u0000k": 1}']
    for field in fields:
        picks = must + rng.sample([v for v in VALUES if v not in must], per_field)
        for raw in picks:
            yield with_field(base, field, raw)


@pytest.fixture(scope="module")
def fx(stack):
    http = httpx.Client(base_url=stack.url, timeout=httpx.Timeout(60.0))
    assistant = http.post("/assistants", json={"graph_id": "echo"}).json()["assistant_id"]
    threads = [http.post("/threads", json={}).json()["thread_id"] for _ in range(4)]
    run = http.post(f"/threads/{threads[0]}/runs/wait", json={"assistant_id": "echo", "input": {"x": 1}})
    runs = http.get(f"/threads/{threads[0]}/runs").json()
    state = http.get(f"/threads/{threads[0]}/state").json()
    assert run.status_code == 200, run.text
    yield {
        "http": http,
        "a": assistant,
        "t": threads,
        "r": runs[0]["run_id"],
        "cp": state["checkpoint"]["checkpoint_id"],
        "rng": random.Random(SEED),
    }
    http.close()


def endpoints(fx: dict) -> list[tuple[str, str]]:
    a, t, r, cp = fx["a"], fx["t"][0], fx["r"], fx["cp"]
    return [
        ("GET", "/"),
        ("GET", "/ok"),
        ("GET", "/info"),
        ("GET", "/metrics"),
        ("POST", "/assistants"),
        ("POST", "/assistants/search"),
        ("POST", "/assistants/count"),
        ("GET", f"/assistants/{a}"),
        ("PATCH", f"/assistants/{a}"),
        ("GET", f"/assistants/{a}/graph"),
        ("GET", f"/assistants/{a}/schemas"),
        ("GET", f"/assistants/{a}/subgraphs"),
        ("GET", f"/assistants/{a}/subgraphs/x|y"),
        ("POST", f"/assistants/{a}/versions"),
        ("POST", f"/assistants/{a}/latest"),
        ("POST", "/threads"),
        ("POST", "/threads/search"),
        ("POST", "/threads/count"),
        ("POST", "/threads/prune"),
        ("GET", f"/threads/{t}"),
        ("PATCH", f"/threads/{t}"),
        ("POST", f"/threads/{t}/copy"),
        ("GET", f"/threads/{t}/state"),
        ("POST", f"/threads/{t}/state"),
        ("POST", f"/threads/{t}/state/checkpoint"),
        ("GET", f"/threads/{t}/state/{cp}"),
        ("GET", f"/threads/{t}/history"),
        ("POST", f"/threads/{t}/history"),
        ("GET", f"/threads/{t}/runs"),
        ("POST", f"/threads/{t}/runs"),
        ("POST", f"/threads/{t}/runs/wait"),
        ("POST", f"/threads/{t}/runs/stream"),
        ("GET", f"/threads/{t}/runs/{r}"),
        ("GET", f"/threads/{t}/runs/{r}/join"),
        ("POST", f"/threads/{t}/runs/{r}/cancel"),
        ("GET", f"/threads/{t}/runs/{r}/stream"),
        ("GET", f"/threads/{t}/stream"),
        ("GET", f"/runs/{r}/stream"),
        ("POST", "/runs"),
        ("POST", "/runs/wait"),
        ("POST", "/runs/stream"),
        ("POST", "/runs/batch"),
        ("POST", "/runs/cancel"),
        ("POST", "/runs/crons"),
        ("POST", "/runs/crons/search"),
        ("POST", "/runs/crons/count"),
        ("POST", f"/threads/{t}/runs/crons"),
        ("PUT", "/store/items"),
        ("GET", "/store/items?namespace=a&key=b"),
        ("DELETE", "/store/items"),
        ("POST", "/store/items/search"),
        ("POST", "/store/namespaces"),
    ]


def test_every_endpoint_answers_bad_bodies_with_a_json_4xx(fx):
    fuzzer = Fuzzer(fx["http"])
    for method, path in endpoints(fx):
        if method == "GET":
            continue
        for content, ctype in BODIES:
            fuzzer.send(method, path, content=content, ctype=ctype)
    assert not fuzzer.failures, "\n".join(fuzzer.failures)


def test_every_endpoint_answers_malformed_ids_and_wrong_methods_with_a_json_4xx(fx):
    fuzzer = Fuzzer(fx["http"])
    ids = {fx["a"], fx["t"][0], fx["r"], fx["cp"]}
    for method, path in endpoints(fx):
        parts = path.split("/")
        for i, part in enumerate(parts):
            if part not in ids:
                continue
            for bad in BAD_IDS:
                mutated = "/".join([*parts[:i], bad, *parts[i + 1 :]])
                fuzzer.send(method, mutated, content=b"{}" if method != "GET" else None)
        for other in ("GET", "POST", "PUT", "PATCH"):
            if other != method:
                fuzzer.send(other, path.replace(fx["a"], str(uuid.uuid4())).replace(fx["t"][0], str(uuid.uuid4())))
    assert not fuzzer.failures, "\n".join(fuzzer.failures)


def test_query_parameters_and_headers_never_cause_a_5xx(fx):
    fuzzer, t, r = Fuzzer(fx["http"]), fx["t"][0], fx["r"]
    params = {
        f"/threads/{t}/runs": ["limit", "offset", "status", "select"],
        f"/threads/{t}/history": ["limit", "before", "metadata"],
        f"/threads/{t}/state": ["subgraphs"],
        f"/threads/{t}": ["include"],
        f"/assistants/{fx['a']}/graph": ["xray"],
        f"/assistants/{fx['a']}/subgraphs": ["recurse"],
        f"/threads/{t}/runs/{r}/join": ["cancel_on_disconnect"],
        f"/threads/{t}/runs/{r}/stream": ["stream_mode", "cancel_on_disconnect"],
        f"/threads/{t}/stream": ["stream_mode"],
        "/store/items": ["namespace", "key", "refresh_ttl"],
    }
    for path, names in params.items():
        for name in names:
            for value in QUERY_VALUES:
                fuzzer.send("GET", f"{path}?{name}={value}")
    for path in (f"/threads/{t}/runs/{r}/cancel", f"/threads/{t}/runs/{r}/cancel?wait=1"):
        for value in ("x", "interrupt", "rollback", "%00"):
            fuzzer.send("POST", f"{path}{'&' if '?' in path else '?'}action={value}")
    for last_id in ("abc", "-1", "1-2-3", "0-18446744073709551616", "99999999999999999999999-0", "../", "1" * 500):
        for path in (f"/threads/{t}/runs/{r}/stream", f"/threads/{t}/stream", f"/runs/{r}/stream"):
            fuzzer.send("GET", path, headers={"Last-Event-ID": last_id})
    assert not fuzzer.failures, "\n".join(fuzzer.failures)


def test_every_body_field_answers_wrong_types_and_nasty_values_with_a_json_4xx(fx):
    fuzzer, rng, a, threads = Fuzzer(fx["http"]), fx["rng"], fx["a"], fx["t"]
    run = {"assistant_id": "echo", "input": {"x": 1}, "multitask_strategy": "interrupt"}
    cron = {"assistant_id": "echo", "schedule": "0 0 1 1 *"}
    cases: list[tuple[str, str, dict, list[str]]] = [
        ("POST", "/assistants", {"graph_id": "echo"}, ["graph_id", "assistant_id", "config", "context", "metadata"]),
        ("POST", "/assistants", {"graph_id": "echo"}, ["if_exists", "name", "description"]),
        ("PATCH", f"/assistants/{a}", {}, ["graph_id", "config", "context", "metadata", "name", "description"]),
        ("POST", "/assistants/search", {}, [*SEARCH_FIELDS, "graph_id", "name"]),
        ("POST", "/assistants/count", {}, ["metadata", "graph_id", "name"]),
        ("POST", f"/assistants/{a}/versions", {}, ["metadata", "limit", "offset"]),
        ("POST", f"/assistants/{a}/latest", {"version": 1}, ["version"]),
        ("POST", "/threads", {}, ["thread_id", "metadata", "if_exists", "supersteps", "ttl"]),
        ("POST", "/threads/search", {}, [*SEARCH_FIELDS, "values", "status", "ids"]),
        ("POST", "/threads/count", {}, ["metadata", "values", "status"]),
        ("POST", "/threads/prune", {"thread_ids": [str(uuid.uuid4())]}, ["thread_ids", "strategy"]),
        ("PATCH", f"/threads/{threads[1]}", {}, ["metadata", "ttl"]),
        ("POST", f"/threads/{threads[1]}/state", {"values": {}}, ["values", "as_node", "checkpoint", "checkpoint_id"]),
        ("POST", f"/threads/{threads[0]}/state/checkpoint", {"checkpoint": {}}, ["checkpoint", "subgraphs"]),
        ("POST", f"/threads/{threads[0]}/history", {}, ["limit", "before", "metadata", "checkpoint"]),
        ("POST", f"/threads/{threads[1]}/runs", run, RUN_FIELDS),
        ("POST", f"/threads/{threads[2]}/runs/wait", run, RUN_FIELDS),
        ("POST", f"/threads/{threads[3]}/runs/stream", run, RUN_FIELDS),
        ("POST", "/runs", run, RUN_FIELDS),
        ("POST", "/runs/wait", run, RUN_FIELDS),
        ("POST", "/runs/stream", run, RUN_FIELDS),
        # run_ids or status of the wrong type: see test_cancel_many_refuses_run_ids_or_status_of_the_wrong_type.
        ("POST", "/runs/cancel", {"thread_id": threads[1], "run_ids": [str(uuid.uuid4())]}, ["thread_id"]),
        ("POST", "/runs/crons", cron, CRON_FIELDS),
        ("POST", f"/threads/{threads[1]}/runs/crons", cron, CRON_FIELDS),
        ("POST", "/runs/crons/search", {}, [*SEARCH_FIELDS, "assistant_id", "thread_id", "enabled"]),
        ("POST", "/runs/crons/count", {}, ["assistant_id", "thread_id"]),
        ("PUT", "/store/items", {"namespace": ["a"], "key": "k", "value": {}}, ["namespace", "key", "value", "index"]),
        ("PUT", "/store/items", {"namespace": ["a"], "key": "k", "value": {}}, ["ttl"]),
        ("DELETE", "/store/items", {"namespace": ["a"], "key": "k"}, ["namespace", "key"]),
        ("POST", "/store/items/search", {}, ["namespace_prefix", "filter", "limit", "offset", "query", "refresh_ttl"]),
        ("POST", "/store/namespaces", {}, ["prefix", "suffix", "max_depth", "limit", "offset"]),
    ]
    for method, path, base, fields in cases:
        for content in field_cases(rng, base, fields, per_field=3):
            fuzzer.send(method, path, content=content)
    for ns in ('["a.b"]', '["a", ""]', '["\\u0000"]', '["\\ud800"]', "[1]", '[["a"]]', '"a"'):
        fuzzer.send("PUT", "/store/items", content=f'{{"namespace": {ns}, "key": "k", "value": {{}}}}'.encode())
    assert not fuzzer.failures, "\n".join(fuzzer.failures)


def test_webhook_urls_pointing_inward_or_at_odd_schemes_never_cause_a_5xx(fx):
    fuzzer, t = Fuzzer(fx["http"]), fx["t"][1]
    for url in WEBHOOKS:
        run = {"assistant_id": "echo", "input": {}, "webhook": url, "multitask_strategy": "interrupt"}
        for path in (f"/threads/{t}/runs", "/runs/wait", "/runs/crons"):
            body = run if path != "/runs/crons" else {**run, "schedule": "0 0 1 1 *"}
            fuzzer.send("POST", path, content=json.dumps(body).encode())
    assert not fuzzer.failures, "\n".join(fuzzer.failures)


def test_oversized_and_unframed_bodies_get_a_json_answer(fx, stack):
    fuzzer = Fuzzer(fx["http"])
    limit = 10 * 1024 * 1024
    huge = b'{"metadata": {"x": "' + b"x" * (limit + 10) + b'"}}'
    for path in ("/threads", "/runs/stream", "/store/items"):
        method = "PUT" if path == "/store/items" else "POST"
        response = fx["http"].request(method, path, content=huge, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        assert isinstance(response.json()["detail"], str)

    def huge_chunks() -> Iterator[bytes]:
        yield huge[: len(huge) // 2]
        yield huge[len(huge) // 2 :]

    response = fx["http"].post("/threads", content=huge_chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413, (response.status_code, response.text[:200])
    assert isinstance(response.json()["detail"], str)

    def chunks() -> Iterator[bytes]:
        yield b'{"metadata": '
        yield b'{"a": 1}}'

    for path in ("/threads", "/assistants/search"):
        fuzzer.send("POST", path, content=b"".join(chunks()))
        response = fx["http"].post(path, content=chunks(), headers={"Content-Type": "application/json"})
        fuzzer.check("POST", path + " (chunked)", b"", response.status_code, response.content)
    assert not fuzzer.failures, "\n".join(fuzzer.failures)


def test_cancel_many_refuses_run_ids_or_status_of_the_wrong_type(fx):
    fuzzer = Fuzzer(fx["http"])
    for raw in ("1", '"x"', "{}", "true", '[{"a": 1}]', "[1]"):
        fuzzer.send("POST", "/runs/cancel", content=with_field({"thread_id": fx["t"][1]}, "run_ids", raw))
    for raw in ("1", "{}", "[]", "true"):
        fuzzer.send("POST", "/runs/cancel", content=with_field({}, "status", raw))
    assert not fuzzer.failures, "\n".join(fuzzer.failures)


NESTED = {
    "config": ["configurable", "tags", "recursion_limit", "metadata", "run_name"],
    "checkpoint": ["checkpoint_id", "checkpoint_ns", "thread_id", "checkpoint_map"],
    "command": ["resume", "goto", "update"],
}
NESTED_VALUES = ["1", '"x"', "{}", "[]", "null", INT64_MAX, "-1", '"../.."', "true", '{"thread_id": 1}']


def nested_cases(base: dict, field: str) -> Iterator[bytes]:
    for key in NESTED[field]:
        for raw in NESTED_VALUES:
            yield with_field(base, field, '{"' + key + '": ' + raw + "}")


def test_nested_config_checkpoint_and_command_values_never_cause_a_5xx(fx):
    fuzzer, a, threads = Fuzzer(fx["http"]), fx["a"], fx["t"]
    run = {"assistant_id": "echo", "input": {"x": 1}, "multitask_strategy": "interrupt"}
    cases = [
        ("POST", f"/threads/{threads[1]}/runs", run, ["config", "checkpoint", "command"]),
        ("POST", "/runs/wait", run, ["config"]),
        ("POST", "/assistants", {"graph_id": "echo"}, ["config"]),
        ("PATCH", f"/assistants/{a}", {}, ["config"]),
        ("POST", "/runs/crons", {"assistant_id": "echo", "schedule": "0 0 1 1 *"}, ["config"]),
        ("POST", f"/threads/{threads[1]}/state", {"values": {"x": 1}}, ["checkpoint"]),
        ("POST", f"/threads/{threads[0]}/state/checkpoint", {}, ["checkpoint"]),
        ("POST", f"/threads/{threads[0]}/history", {}, ["checkpoint"]),
    ]
    for method, path, base, fields in cases:
        for field in fields:
            for content in nested_cases(base, field):
                fuzzer.send(method, path, content=content)
    assert not fuzzer.failures, "\n".join(fuzzer.failures)
