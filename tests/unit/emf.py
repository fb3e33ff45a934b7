"""Read back the CloudWatch Embedded Metric Format lines Powertools printed to stdout (what CloudWatch would see)."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Emitted:
    name: str
    unit: str
    values: tuple[float, ...]
    dimensions: dict[str, str]


def emitted(stdout: str) -> list[Emitted]:
    """Every metric in the EMF objects among the printed lines (log lines and other output are skipped)."""
    found: list[Emitted] = []
    for line in stdout.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if not isinstance(blob, dict) or "_aws" not in blob:
            continue
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dimensions = {key: blob[key] for key in directive["Dimensions"][0]}
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                values = tuple(value) if isinstance(value, list) else (value,)
                found.append(Emitted(metric["Name"], metric["Unit"], values, dimensions))
    return found


def named(stdout: str, name: str) -> list[Emitted]:
    return [m for m in emitted(stdout) if m.name == name]
