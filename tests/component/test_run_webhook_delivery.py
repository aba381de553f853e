"""Webhook deliveries against local servers on 127.0.0.1 (allowed explicitly by the policy): pinned address,
Host and TLS server name kept, no redirects, a capped answer, a deadline, retries with backoff (issue 10.7)."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from runs.engine import webhooks
from runs.engine.webhooks import WebhookPolicy, webhook_deliver

LOCAL = WebhookPolicy(disable_loopback=False, headers=(("X-Hook", "yes"),))


class Receiver:
    """A local HTTP(S) server whose answers the test scripts: a list of (status, headers, body or callable)."""

    def __init__(self, answers: list, tls: ssl.SSLContext | None = None) -> None:
        self.answers, self.requests, self.server_names = list(answers), [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status, headers, content = receiver.answers.pop(0) if receiver.answers else (204, {}, b"")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                content(self.wfile) if callable(content) else self.wfile.write(content)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def start(answers=(), tls=None) -> Receiver:
        started.append(Receiver(list(answers), tls))
        return started[-1]

    yield start
    for receiver in started:
        receiver.close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(webhooks, "BACKOFF_SECS", 0.01)


@pytest.fixture
def names(monkeypatch):
    """Host names this test resolves itself (every other name resolves as usual)."""
    table: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        return real(table.get(host, host), port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def deliver(url: str, policy: WebhookPolicy = LOCAL, payload: dict | None = None):
    return asyncio.run(webhook_deliver(url, payload or {"run_id": "r", "status": "success"}, policy))


def test_the_payload_goes_to_the_resolved_address_with_the_original_host_and_headers(receivers, names):
    receiver = receivers()
    names["hooks.example.test"] = "127.0.0.1"
    assert deliver(f"http://hooks.example.test:{receiver.port}/hook") == 204
    ((headers, body),) = receiver.requests
    assert headers["Host"] == f"hooks.example.test:{receiver.port}"
    assert headers["X-Hook"] == "yes"
    assert headers["Content-Type"] == "application/json"
    assert body == b'{"run_id":"r","status":"success"}'


def test_the_name_is_checked_again_at_delivery_so_a_rebound_name_is_refused(receivers, names):
    receiver = receivers()
    names["rebound.example.test"] = "127.0.0.1"
    assert deliver(f"http://rebound.example.test:{receiver.port}/", WebhookPolicy()) is None
    assert receiver.requests == [], "refused by the policy: never sent, never retried"


def test_server_errors_and_429_are_retried_with_backoff_then_delivered(receivers):
    receiver = receivers([(500, {}, b"oops"), (429, {}, b"")])
    assert deliver(f"http://127.0.0.1:{receiver.port}/hook") == 204
    assert len(receiver.requests) == 3


def test_a_client_error_is_final(receivers):
    receiver = receivers([(404, {}, b"")])
    assert deliver(f"http://127.0.0.1:{receiver.port}/hook") == 404
    assert len(receiver.requests) == 1


def test_redirects_are_not_followed(receivers):
    target = receivers()
    receiver = receivers([(302, {"Location": f"http://127.0.0.1:{target.port}/elsewhere"}, b"")])
    assert deliver(f"http://127.0.0.1:{receiver.port}/hook") == 302
    assert target.requests == []


def test_an_endless_answer_is_read_only_up_to_the_cap(receivers):
    def endless(stream):
        try:
            while True:
                stream.write(b"x" * 65536)
        except OSError:
            pass  # the client hung up after its cap

    receiver = receivers([(200, {}, endless)])
    started = time.monotonic()
    assert deliver(f"http://127.0.0.1:{receiver.port}/hook") == 200
    assert time.monotonic() - started < 5


def test_a_receiver_that_never_answers_is_given_up_at_the_deadline(monkeypatch):
    monkeypatch.setattr(webhooks, "ATTEMPT_DEADLINE_SECS", 0.3)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does), reads nothing, answers nothing
    try:
        started = time.monotonic()
        assert deliver(f"http://127.0.0.1:{silent.getsockname()[1]}/hook") is None
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert elapsed < webhooks.ATTEMPTS * 0.3 + 1


def test_allowed_fields_limit_the_payload(receivers):
    receiver = receivers()
    policy = WebhookPolicy(disable_loopback=False, allowed_fields=("run_id",))
    deliver(f"http://127.0.0.1:{receiver.port}/hook", policy, {"run_id": "r", "values": {"secret": 1}})
    assert receiver.requests[0][1] == b'{"run_id":"r"}'


def certificate_for(host: str, tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a self-signed certificate for `host`, client context that trusts it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{host}.pem", tmp_path / f"{host}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    return server, ssl.create_default_context(cafile=str(cert_file))


def test_tls_to_the_pinned_address_sends_the_host_name_and_checks_the_certificate(
    receivers, names, tmp_path, monkeypatch
):
    server_tls, client_tls = certificate_for("hooks.example.test", tmp_path)
    monkeypatch.setattr(webhooks, "_tls_context", lambda: client_tls)
    receiver = receivers(tls=server_tls)
    names["hooks.example.test"] = names["impostor.example.test"] = "127.0.0.1"
    assert deliver(f"https://hooks.example.test:{receiver.port}/hook") == 204
    assert receiver.server_names == ["hooks.example.test"]
    assert len(receiver.requests) == 1
    assert deliver(f"https://impostor.example.test:{receiver.port}/hook") is None, "certificate of another name"
    assert len(receiver.requests) == 1
