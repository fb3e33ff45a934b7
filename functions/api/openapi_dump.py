"""Write the REST API's OpenAPI document to docs/openapi.json (`make openapi`); CI fails when it drifts."""

from __future__ import annotations

import sys
from pathlib import Path

from functions.api.handler import openapi_json

TARGET = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def main() -> None:
    TARGET.write_text(openapi_json() + "\n", encoding="utf-8")
    print(f"wrote {TARGET}", file=sys.stderr)


if __name__ == "__main__":
    main()
