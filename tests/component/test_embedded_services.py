"""The embedded PostgreSQL and Redis know their own servers by data folder and pid, never by an open port."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis as redis_lib

from agentplatform.embedded import EmbeddedError, EmbeddedPostgres, EmbeddedRedis, remove_data


@pytest.fixture
def data_root() -> Iterator[Path]:
    """A folder for the servers' data outside pytest's tmp_path: a pytest session starting meanwhile makes
    pytest-of-<user> private again, and the unprivileged postgres user (when run as root) loses its way in."""
    root = Path(tempfile.mkdtemp(prefix="agentplatform-embedded-"))
    yield root
    remove_data(root)


@contextmanager
def foreign_listener() -> Iterator[int]:
    """Another program's server: a plain TCP listener on a free port, which accepts and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _redis_dir(port: int) -> Path:
    with redis_lib.Redis(host="127.0.0.1", port=port, socket_timeout=5) as client:
        return Path(client.config_get("dir")["dir"])


def _postgres_dir(uri: str) -> Path:
    with psycopg.connect(uri, connect_timeout=5) as conn:
        return Path(conn.execute("SHOW data_directory").fetchone()[0])


def test_redis_starts_its_own_server_when_another_process_holds_the_port(data_root):
    with foreign_listener() as taken:
        redis = EmbeddedRedis(data_root / "redis", taken).start()
        try:
            assert redis.port != taken
            assert _redis_dir(redis.port) == (data_root / "redis").resolve()
        finally:
            redis.stop()


def test_redis_second_start_reuses_its_own_server_and_a_restart_keeps_the_port(data_root):
    with foreign_listener() as taken:
        first = EmbeddedRedis(data_root / "redis", taken).start()
        try:
            second = EmbeddedRedis(data_root / "redis", taken).start()
            assert (second.port, second.reused, second.process) == (first.port, True, None)
        finally:
            first.stop()
        restarted = EmbeddedRedis(data_root / "redis", taken).start()
        try:
            assert (restarted.port, restarted.reused) == (first.port, False)
        finally:
            restarted.stop()


def test_a_named_port_held_by_another_process_is_an_error_that_says_how_to_choose_another(data_root):
    with foreign_listener() as taken, pytest.raises(EmbeddedError) as error:
        EmbeddedRedis(data_root / "redis", taken, fixed_port=True).start()
    assert f"Port {taken}" in str(error.value)
    assert "AGENTPLATFORM_REDIS_PORT" in str(error.value)


def test_postgres_starts_its_own_server_beside_another_and_a_second_start_finds_the_same_one(data_root):
    with foreign_listener() as taken:
        postgres = EmbeddedPostgres(data_root / "postgres", taken, durable=False).start()
        try:
            assert postgres.port != taken
            assert _postgres_dir(postgres.uri) == (data_root / "postgres" / "pgdata").resolve()
            again = EmbeddedPostgres(data_root / "postgres", taken, durable=False).start()
            assert (again.uri, again.reused, again.started_here) == (postgres.uri, True, False)
        finally:
            postgres.stop()
        restarted = EmbeddedPostgres(data_root / "postgres", taken, durable=False).start()
        try:
            assert (restarted.port, restarted.started_here) == (postgres.port, True)
        finally:
            restarted.stop()
