"""/v1/workflows: automation defined as versioned data (triggers, conditions, steps), its built-in templates,
manual runs for a contact or a segment, and every execution's history (each step's input, output and error)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from functions.api import deps
from shared.http.context import IDEMPOTENCY_HEADER, public_base, require
from shared.models.workflows import Execution, RunInput, StepRecord, Workflow, WorkflowSummary
from shared.services.signature import header
from shared.services.workflows import parse_definition

router = APIGatewayHttpRouter()
TAGS = ["Workflows"]


class WorkflowBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any] | None = Field(default=None, description="The definition as a JSON object")
    source: str | None = Field(default=None, max_length=200_000, description="Or as YAML/JSON text")


class FromTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, max_length=60, examples=["csat_after_close"])
    overrides: dict[str, Any] = Field(default_factory=dict, description="Merged over the template (e.g. a "
                                                                        "campaign id, `enabled: true`)")


class WorkflowView(BaseModel):
    workflow: Workflow
    hook_url: str | None = Field(default=None, description="incoming_webhook trigger: POST here (keep it secret)")


class WorkflowList(BaseModel):
    workflows: list[WorkflowSummary]


class TemplateList(BaseModel):
    templates: list[dict[str, Any]]


class Validation(BaseModel):
    valid: bool
    errors: list[dict[str, Any]] = Field(default_factory=list)


class ExecutionList(BaseModel):
    executions: list[Execution]


class ExecutionView(BaseModel):
    execution: Execution
    steps: list[StepRecord]


class RunAccepted(BaseModel):
    workflow_id: str
    version: int
    contacts: int
    execution_ids: list[str]


def _view(workflow: Workflow) -> WorkflowView:
    if workflow.trigger.type != "incoming_webhook":
        return WorkflowView(workflow=workflow)
    base = public_base(router.current_event.raw_event)
    return WorkflowView(workflow=workflow, hook_url=base + deps.workflows().hook_url_path(workflow))


@router.get("/v1/workflow-templates", tags=TAGS, summary="The built-in templates (Spanish, ready to enable)")
def list_templates() -> TemplateList:
    require(router, "workflows:read")
    return TemplateList(templates=deps.workflows().templates())


@router.post("/v1/workflows/validate", tags=TAGS, summary="Check a definition without storing it")
def validate_workflow(body: WorkflowBody) -> Validation:
    require(router, "workflows:read")
    from shared.errors import InvalidInput

    try:
        parse_definition(body.definition, body.source)
    except InvalidInput as exc:
        return Validation(valid=False, errors=exc.errors or [{"field": "(definition)", "message": exc.detail}])
    return Validation(valid=True)


@router.post("/v1/workflows", tags=TAGS, status_code=201, summary="Create a workflow (version 1)",
             description="`definition` (JSON) or `source` (YAML/JSON text). Errors name the place: "
                         "`steps[2].next: unknown step 'x'`. New workflows are disabled unless `enabled: true`.")
def create_workflow(body: WorkflowBody) -> WorkflowView:
    who = require(router, "workflows:write")
    return _view(deps.workflows().create(who.tenant_id or "", parse_definition(body.definition, body.source)))


@router.post("/v1/workflows/from-template", tags=TAGS, status_code=201, summary="Create a workflow from a template")
def create_from_template(body: FromTemplate) -> WorkflowView:
    who = require(router, "workflows:write")
    return _view(deps.workflows().from_template(who.tenant_id or "", body.template, body.overrides))


@router.get("/v1/workflows", tags=TAGS, summary="List workflows")
def list_workflows() -> WorkflowList:
    who = require(router, "workflows:read")
    return WorkflowList(workflows=deps.workflows().summaries(who.tenant_id or ""))


@router.get("/v1/workflows/<workflow_id>", tags=TAGS, summary="Get a workflow (its latest version)")
def get_workflow(workflow_id: str) -> WorkflowView:
    who = require(router, "workflows:read")
    return _view(deps.workflows().get(who.tenant_id or "", workflow_id))


@router.get("/v1/workflows/<workflow_id>/versions/<version>", tags=TAGS, summary="Get one version")
def get_workflow_version(workflow_id: str, version: int) -> WorkflowView:
    who = require(router, "workflows:read")
    return _view(deps.workflows().get(who.tenant_id or "", workflow_id, version))


@router.put("/v1/workflows/<workflow_id>", tags=TAGS, summary="Replace a workflow (a new version)",
            description="Running executions finish on the version they started with.")
def replace_workflow(workflow_id: str, body: WorkflowBody) -> WorkflowView:
    who = require(router, "workflows:write")
    return _view(deps.workflows().replace(who.tenant_id or "", workflow_id,
                                          parse_definition(body.definition, body.source)))


@router.post("/v1/workflows/<workflow_id>/enable", tags=TAGS, summary="Enable a workflow")
def enable_workflow(workflow_id: str) -> WorkflowView:
    who = require(router, "workflows:write")
    return _view(deps.workflows().set_enabled(who.tenant_id or "", workflow_id, True))


@router.post("/v1/workflows/<workflow_id>/disable", tags=TAGS, summary="Disable a workflow",
             description="No new executions start; running ones finish.")
def disable_workflow(workflow_id: str) -> WorkflowView:
    who = require(router, "workflows:write")
    return _view(deps.workflows().set_enabled(who.tenant_id or "", workflow_id, False))


@router.delete("/v1/workflows/<workflow_id>", tags=TAGS, status_code=204, summary="Delete a workflow")
def delete_workflow(workflow_id: str) -> None:
    who = require(router, "workflows:write")
    deps.workflows().delete(who.tenant_id or "", workflow_id)


@router.post("/v1/workflows/<workflow_id>/runs", tags=TAGS, status_code=202,
             summary="Run a manual workflow for one contact or every contact of a segment")
def run_workflow(workflow_id: str, body: RunInput) -> RunAccepted:
    who = require(router, "workflows:write")
    event = router.current_event
    key = header(event.headers, IDEMPOTENCY_HEADER) or event.request_context.request_id or ""
    return RunAccepted.model_validate(deps.workflows().run_manual(who.tenant_id or "", workflow_id, body,
                                                                  request_key=key))


@router.get("/v1/workflows/<workflow_id>/executions", tags=TAGS, summary="A workflow's executions, newest first")
def workflow_executions(workflow_id: str) -> ExecutionList:
    who = require(router, "workflows:read")
    return ExecutionList(executions=deps.workflows().executions(who.tenant_id or "", workflow_id=workflow_id))


@router.get("/v1/contacts/<contact_id>/workflow-executions", tags=TAGS,
            summary="A contact's workflow executions, newest first")
def contact_executions(contact_id: str) -> ExecutionList:
    who = require(router, "contacts:read")
    deps.contacts().get(who.tenant_id or "", contact_id)  # 404 for another tenant's (or no) contact
    return ExecutionList(executions=deps.workflows().executions(who.tenant_id or "", contact_id=contact_id))


@router.get("/v1/workflow-executions/<execution_id>", tags=TAGS,
            summary="One execution: where it is, and every step with its input, output and error")
def get_execution(execution_id: str) -> ExecutionView:
    who = require(router, "workflows:read")
    execution, steps = deps.workflows().execution(who.tenant_id or "", execution_id)
    return ExecutionView(execution=execution, steps=steps)
