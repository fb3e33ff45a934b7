"""CDK entry point: `python -m infra.app` (or `cdk synth`, which runs the same) from the repo root.

Synth is offline: account and region come from CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION or context,
never from an STS call, and assets are built by infra/build_assets.py without Docker.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from aws_cdk import App, Aspects, Environment
from cdk_nag import AwsSolutionsChecks

from infra import build_assets
from infra.stacks.messaging_stack import MessagingStack

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"
OFFLINE_ACCOUNT = "000000000000"
OFFLINE_REGION = "us-east-1"


def build_app(outdir: str | None = None) -> tuple[App, MessagingStack]:
    """The app with its one stack; context defaults come from cdk.json, CLI context (-c) overrides them."""
    code_dir, layer_dir = build_assets.ensure_built()
    defaults: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    app = App(outdir=outdir or os.environ.get("CDK_OUTDIR", "cdk.out"), context=defaults)

    def setting(env_var: str, context_key: str, fallback: str) -> str:
        return os.environ.get(env_var) or app.node.try_get_context(context_key) or fallback

    env = Environment(
        account=setting("CDK_DEFAULT_ACCOUNT", "account", OFFLINE_ACCOUNT),
        region=setting("CDK_DEFAULT_REGION", "region", OFFLINE_REGION),
    )
    stack = MessagingStack(
        app, app.node.get_context("stack_name"), env=env, code_dir=code_dir, layer_dir=layer_dir
    )
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


@dataclass(frozen=True)
class Synthesized:
    stack: MessagingStack
    template: dict[str, Any]


@lru_cache(maxsize=1)
def synthesize() -> Synthesized:
    """Synthesize once per process into a temporary folder (jsii start-up makes synth cost seconds)."""
    app, stack = build_app(outdir=tempfile.mkdtemp(prefix="cdk.out."))
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return Synthesized(stack=stack, template=template)


def synth_template() -> dict[str, Any]:
    """The stack's CloudFormation template as a dict (a copy: callers may mutate it)."""
    return copy.deepcopy(synthesize().template)


if __name__ == "__main__":
    build_app()[0].synth()
