"""Every outcome a consumer service can return has a metric name in its handler (a missing one would fail the
whole SQS record with a KeyError after the work was done)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def outcome_kinds(source: str, cls: str) -> set[str]:
    found = set(re.findall(rf'{cls}\("([a-z_]+)"', source))
    found |= {k for pair in re.findall(r'"([a-z_]+)" if [^"]+ else "([a-z_]+)"', source) for k in pair}
    return found


def test_every_inbound_outcome_has_a_metric() -> None:
    from functions.inbound_processor.handler import _METRIC

    kinds = outcome_kinds((ROOT / "shared/services/inbound.py").read_text(), "InboundOutcome")
    assert {"stored", "comment_stored", "status_applied"} <= kinds
    assert kinds <= set(_METRIC), kinds - set(_METRIC)


def test_every_send_outcome_has_a_metric() -> None:
    from functions.outbound_sender.handler import _METRIC

    source = (ROOT / "shared/services/outbound.py").read_text()
    kinds = outcome_kinds(source, "SendOutcome") | set(re.findall(r'status="([a-z_]+)"', source))
    assert {"sent", "refused", "failed", "unconfirmed"} <= kinds
    assert kinds <= set(_METRIC), kinds - set(_METRIC)
