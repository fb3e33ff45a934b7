"""CDK entry point: `python -m infra.app` (or `cdk synth`, which runs the same) from the repo root.

Synth is offline: account and region come from CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION or context,
never from an STS call, and assets are built by infra/build_assets.py without Docker.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from aws_cdk import App, Aspects, Environment
from cdk_nag import AwsSolutionsChecks

from infra import build_assets
from infra.stacks.messaging_stack import MessagingStack

ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = ROOT / "cdk.json"
OFFLINE_ACCOUNT = "000000000000"
OFFLINE_REGION = "us-east-1"


def build_app(outdir: str | None = None, context: dict[str, Any] | None = None) -> tuple[App, MessagingStack]:
    """The app with its one stack; context defaults come from cdk.json, CLI context (-c) overrides them (tests
    pass `context` for the same effect)."""
    code_dir, layer_dir = build_assets.ensure_built()
    defaults: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    app = App(outdir=outdir or os.environ.get("CDK_OUTDIR", str(ROOT / "cdk.out")),
              context={**defaults, **(context or {})})

    def setting(context_key: str, env_var: str, fallback: str) -> str:
        """Explicit context (-c account=...) first, then what the CDK CLI exports, then an offline default."""
        return app.node.try_get_context(context_key) or os.environ.get(env_var) or fallback

    env = Environment(
        account=setting("account", "CDK_DEFAULT_ACCOUNT", OFFLINE_ACCOUNT),
        region=setting("region", "CDK_DEFAULT_REGION", OFFLINE_REGION),
    )
    stack = MessagingStack(app, app.node.get_context("stack_name"), env=env, code_dir=code_dir, layer_dir=layer_dir)
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


@dataclass(frozen=True)
class Synthesized:
    stack: MessagingStack
    template: dict[str, Any]


@lru_cache(maxsize=1)
def synthesize() -> Synthesized:
    """Synthesize once per process into a temporary folder (jsii start-up makes synth cost seconds)."""
    outdir = tempfile.mkdtemp(prefix="cdk.out.")
    atexit.register(shutil.rmtree, outdir, ignore_errors=True)
    app, stack = build_app(outdir=outdir)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return Synthesized(stack=stack, template=template)


def synth_template() -> dict[str, Any]:
    """The stack's CloudFormation template as a dict (a copy: callers may mutate it)."""
    return copy.deepcopy(synthesize().template)


if __name__ == "__main__":
    build_app()[0].synth()
