"""Unit-test plumbing: sample events, the shared oracle fixtures, and no network."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO_ROOT / "events"
# ../shared next to the repository (not inside it): present in the workspace, absent in a bare clone.
ORACLE_FIXTURES_DIR = Path(__file__).resolve().parents[3] / "shared" / "oracle-fixtures"


def read_event(path: str | Path, *, raw: bool = False) -> Any:
    """An events/ sample: parsed JSON, or its exact bytes with raw=True.

    `path` is relative to events/ ("whatsapp/text.json"); a leading "events/" is accepted too.
    """
    relative = Path(path)
    if relative.parts and relative.parts[0] == "events":
        relative = Path(*relative.parts[1:])
    data = (EVENTS_DIR / relative).read_bytes()
    return data if raw else json.loads(data)


@pytest.fixture
def load_event() -> Callable[..., Any]:
    return read_event


@pytest.fixture
def oracle_fixtures() -> Path:
    """../shared/oracle-fixtures; the test is skipped when the shared workspace is not checked out."""
    if not ORACLE_FIXTURES_DIR.is_dir():
        pytest.skip(f"oracle fixtures not present at {ORACLE_FIXTURES_DIR}")
    return ORACLE_FIXTURES_DIR


class NetworkBlockedError(RuntimeError):
    """A unit test tried to open a network connection."""


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sockets off: unit tests use fakes, never the network (pywa clients included)."""

    def refuse(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
        raise NetworkBlockedError(f"network access in a unit test: {args!r}")

    def refuse_lookup(*args: Any, **kwargs: Any) -> Any:
        raise NetworkBlockedError(f"DNS lookup in a unit test: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
