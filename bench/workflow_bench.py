"""Workflow engine overhead per step, our code only (in-memory fakes of the store and the platform's actions).

Baseline in the same run: the same effects called directly, without the engine (no step records, no cursor, no
templates, no conditions). The difference is what durability and bookkeeping cost per step in CPU; the workflow
store's AWS calls per step are fixed by design: 1 conditional PutItem (started) + 1 TransactWriteItems (done +
cursor); the execution is read once per run, and steps that render templates read the contact and conversation."""

from __future__ import annotations

import time
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
