"""`make invoke FN=<function> EVENT=<file>`: run one handler with a sample event on a throwaway local stack."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from infra.local.stack import LocalStack


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: make invoke FN=whatsapp_webhook EVENT=events/apigw/post_text.json")
    function, event_path = argv
    event = json.loads(Path(event_path).read_text())
    stack = LocalStack(prefix="invoke").start()
    stack.seed_demo_channels()
    try:
        result = stack.host.invoke(function, event)
        print(json.dumps(result, indent=2, ensure_ascii=False))
        stack.wait_idle(timeout=30)
        print(f"invocations: {stack.host.invocations}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
