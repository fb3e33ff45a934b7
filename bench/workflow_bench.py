"""Workflow engine: CPU per step (our code only, in-memory fakes of the store and the platform's actions) and
DynamoDB calls per step (the real workflow store on moto, in process, counted with botocore's `before-call`).

Baseline in the same run: the same effects called directly, without the engine (no step records, no cursor, no
templates, no conditions). The difference is what durability and bookkeeping cost per step in CPU. The store's
calls per step are fixed by design: 1 conditional PutItem (started) + 1 TransactWriteItems (done + cursor); the
execution is read once per run. The contact and conversation reads of steps that render templates are the
platform's (fake here), not counted."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from shared.models.workflows import WorkflowInput
from shared.services.workflows import Reach
from tests.unit.fakes_workflows import make_service

STEPS: list[dict[str, Any]] = [
    {"id": "dato", "type": "set_variable", "name": "plan", "value": "{{contact.fields.plan | default: 'basico'}}"},
    {"id": "rama", "type": "branch", "branches": [
        {"name": "oro", "when": [{"subject": "vars.plan", "op": "eq", "value": "oro"}], "next": "etiqueta"}]},
    {"id": "etiqueta", "type": "update_contact", "add_tags": ["visto"]},
    {"id": "saludo", "type": "send_message", "text": "Hola {{contact.first_name}}, gracias por escribirnos."},
    {"id": "nota", "type": "set_variable", "name": "fin", "value": "ok"},
]


def run(executions: int = 400) -> dict[str, float]:
    rig = make_service()
    rig.actions.add_contact("c1", tenant_id="t1", fields={"plan": "oro"}, phone="5491100000000")
    workflow = rig.service.create("t1", WorkflowInput.model_validate(
        {"name": "bench", "trigger": {"type": "manual"}, "enabled": True, "reentry": "always", "steps": STEPS}))
    started = time.perf_counter()
    for i in range(executions):
        rig.service.start({"tenant_id": "t1", "workflow_id": workflow.workflow_id, "execution_id": f"wx_{i}",
                           "contact_id": "c1", "trigger": "manual"})
        rig.clock.advance(timedelta(milliseconds=1))
    engine_s = time.perf_counter() - started
    steps = executions * len(STEPS)
    reach = Reach(channel_id="wa", contact_key="5491100000000", address="5491100000000", conversation_id=None)
    started = time.perf_counter()
    for i in range(executions):  # the same effects, called directly
        rig.actions.update_contact("t1", "c1", fields={}, add_tags=["visto"], remove_tags=[], lifecycle=None,
                                   actor="bench")
        rig.actions.send("t1", reach, {"type": "text", "body": "Hola Ana, gracias por escribirnos."},
                         request_id=f"direct:{i}", origin="bench")
    direct_s = time.perf_counter() - started
    return {"executions": executions, "steps": steps, "engine_us_per_step": engine_s / steps * 1e6,
            "direct_us_per_execution": direct_s / executions * 1e6,
            "engine_us_per_execution": engine_s / executions * 1e6}


def store_ops(executions: int = 50) -> dict[str, Any]:
    """The same workflow over the real DynamoWorkflows adapter on moto (in process): calls per step."""
    import boto3
    from moto import mock_aws

    from bench.tables import create_table
    from shared.adapters.dynamodb_workflows import DynamoWorkflows

    endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)  # an earlier local stack's moto server: not this mock
    try:
        with mock_aws():
            ddb = boto3.resource("dynamodb", region_name="us-east-1")
            table = create_table(ddb, "bench-wf")
            rig = make_service(store=DynamoWorkflows(table))
            rig.actions.add_contact("c1", tenant_id="t1", fields={"plan": "oro"}, phone="5491100000000")
            workflow = rig.service.create("t1", WorkflowInput.model_validate(
                {"name": "bench", "trigger": {"type": "manual"}, "enabled": True, "reentry": "always",
                 "steps": STEPS}))
            calls: Counter[str] = Counter()
            def count(model: Any, **_: Any) -> None:
                calls[model.name] += 1

            ddb.meta.client.meta.events.register("before-call", count)
            for i in range(executions):
                rig.service.start({"tenant_id": "t1", "workflow_id": workflow.workflow_id,
                                   "execution_id": f"wx_{i}", "contact_id": "c1", "trigger": "manual"})
                rig.clock.advance(timedelta(milliseconds=1))
            ddb.meta.client.meta.events.unregister("before-call", count)
            completed = sum(1 for x in rig.store.executions("t1", workflow_id=workflow.workflow_id)
                            if x.status == "completed")
    finally:
        if endpoint is not None:
            os.environ["AWS_ENDPOINT_URL"] = endpoint
    return {"executions": executions, "completed": completed, "steps": executions * len(STEPS),
            "calls": dict(calls)}


def markdown(cpu: dict[str, Any], ops: dict[str, Any]) -> list[str]:
    steps = ops["steps"]
    per_step = ", ".join(f"{v / steps:.2f} {k}" for k, v in sorted(ops["calls"].items()))
    per_execution = ", ".join(f"{v / ops['executions']:.2f} {k}" for k, v in sorted(ops["calls"].items()))
    return [
        "## 8a. Workflow engine (CPU per step, DynamoDB calls per step)", "",
        f"`python -m bench.workflow_bench`: {cpu['executions']} executions of a {len(STEPS)}-step workflow "
        "(set_variable with a template, branch on a variable, update_contact, send_message with a template, "
        "set_variable) over the in-memory fakes of `tests/unit/fakes_workflows.py`. Baseline, same run: the "
        "execution's two effects called directly, without the engine.", "",
        "| what | µs |", "|---|---|",
        f"| engine, per step (started record, templates/conditions, effect, commit of record + cursor) | "
        f"{cpu['engine_us_per_step']:.0f} |",
        f"| engine, per {len(STEPS)}-step execution | {cpu['engine_us_per_execution']:.0f} |",
        f"| baseline: the execution's two effects called directly | {cpu['direct_us_per_execution']:.0f} |", "",
        f"DynamoDB calls with the real workflow store on moto ({ops['executions']} executions, {ops['completed']} "
        f"completed, {steps} steps): per execution {per_execution}; per step {per_step}. Each step is 1 PutItem "
        "(its started record) and 1 TransactWriteItems (its done record + the cursor); each execution adds a "
        "transaction creating it, one ending it, and the reentry guard's update. A wait adds one Scheduler "
        "CreateSchedule and nothing while it waits.", "",
    ]


if __name__ == "__main__":
    print("\n".join(markdown(run(), store_ops())))
