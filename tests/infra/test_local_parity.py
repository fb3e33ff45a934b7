"""What the local stack runs is what deploys: routes, queues (FIFO, DLQ, redrive, consumer) and
EventBridge subscriptions read back from moto, the schedules its timer threads run and the WebSocket routes its
gateway serves equal those in the synthesized CloudFormation template."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from infra import topology
from infra.app import synth_template
from infra.local.provision import describe, provision
from infra.local.stack import free_port

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def local_description() -> Iterator[dict[str, Any]]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_ACCESS_KEY_ID", "local")
        env.setenv("AWS_SECRET_ACCESS_KEY", "local")
        yield describe(provision("parity"))
    server.stop()


def _by_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _function_name(template: dict[str, Any], logical_id: str) -> str:
    handler = template["Resources"][logical_id]["Properties"]["Handler"]
    return str(handler.split(".")[1])  # functions.<name>.handler.lambda_handler


def _queue_name(props: dict[str, Any]) -> str:
    name = props["QueueName"].removesuffix(".fifo")
    return name.split("-", 1)[1]  # drop the stack prefix


def deployed_description(template: dict[str, Any]) -> dict[str, Any]:
    queues_by_id = _by_type(template, "AWS::SQS::Queue")
    consumers = {m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: _function_name(
        template, m["Properties"]["FunctionName"]["Ref"])
        for m in _by_type(template, "AWS::Lambda::EventSourceMapping").values()}
    queues = {}
    for logical_id, queue in queues_by_id.items():
        props = queue["Properties"]
        if "RedrivePolicy" not in props:
            continue  # a DLQ
        dlq = queues_by_id[props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]]["Properties"]
        queues[_queue_name(props)] = {"fifo": bool(props.get("FifoQueue")),
                                      "max_receive_count": props["RedrivePolicy"]["maxReceiveCount"],
                                      "dlq_fifo": bool(dlq.get("FifoQueue")), "consumer": consumers.get(logical_id)}
    rules, schedules = {}, {}
    for rule in _by_type(template, "AWS::Events::Rule").values():
        props = rule["Properties"]
        [target] = props["Targets"]
        target_queue = _queue_name(queues_by_id[target["Arn"]["Fn::GetAtt"][0]]["Properties"])
        if "ScheduleExpression" in props:  # rate(1 minute), rate(5 minutes)
            rate, unit = props["ScheduleExpression"].removeprefix("rate(").removesuffix(")").split()
            assert unit.startswith("minute"), props["ScheduleExpression"]
            name = next(s.name for s in topology.SCHEDULES if s.target_queue == target_queue)
            schedules[name] = {"rate_minutes": int(rate), "target_queue": target_queue,
                               "input": json.loads(target["Input"])}
            continue
        name = next(r.name for r in topology.RULES if r.target_queue == target_queue)
        rules[name] = {"pattern": props["EventPattern"], "target_queue": target_queue}
    apis = _by_type(template, "AWS::ApiGatewayV2::Api")
    protocols = {lid: api["Properties"]["ProtocolType"] for lid, api in apis.items()}
    integrations = _by_type(template, "AWS::ApiGatewayV2::Integration")
    routes, websocket_routes = [], []
    authorized = {}
    for route in _by_type(template, "AWS::ApiGatewayV2::Route").values():
        integration_id = route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
        uri = integrations[integration_id]["Properties"]["IntegrationUri"]
        # HTTP integrations name the function's ARN; WebSocket (proxy) ones its invocation URI around it
        function_id = uri["Fn::GetAtt"][0] if "Fn::GetAtt" in uri else uri["Fn::Join"][1][1]["Fn::GetAtt"][0]
        if protocols[route["Properties"]["ApiId"]["Ref"]] == "WEBSOCKET":
            websocket_routes.append((route["Properties"]["RouteKey"], _function_name(template, function_id)))
            continue
        method, path = route["Properties"]["RouteKey"].split(" ", 1)
        routes.append((method, path, _function_name(template, function_id)))
        authorized[(method, path)] = route["Properties"].get("AuthorizationType", "NONE") == "CUSTOM"
    return {"queues": queues, "rules": rules, "routes": sorted(routes), "authorized": authorized,
            "schedules": schedules, "websocket_routes": sorted(websocket_routes)}


def test_local_stack_runs_the_same_routes_queues_and_subscriptions_as_the_template(
        local_description: dict[str, Any]) -> None:
    deployed = deployed_description(synth_template())
    # (method, path, function): the local stack may record more per route (its auth), compared below instead
    assert deployed["routes"] == sorted(tuple(route[:3]) for route in local_description["routes"])
    assert deployed["queues"] == local_description["queues"]
    assert deployed["rules"] == local_description["rules"]
    # and none of it is empty: the comparison covers every queue and rule in the manifest
    assert set(local_description["queues"]) == {q.name for q in topology.QUEUES}
    assert set(local_description["rules"]) == {r.name for r in topology.RULES}


def test_local_timers_run_the_template_schedules(local_description: dict[str, Any]) -> None:
    deployed = deployed_description(synth_template())
    assert deployed["schedules"] == local_description["schedules"]
    assert set(local_description["schedules"]) == {s.name for s in topology.SCHEDULES} != set()


def test_local_websocket_gateway_serves_the_template_websocket_routes(local_description: dict[str, Any]) -> None:
    deployed = deployed_description(synth_template())
    assert deployed["websocket_routes"] == local_description["websocket_routes"]
    assert {key for key, _ in local_description["websocket_routes"]} == {"$connect", "$disconnect", "$default"}


def test_template_routes_carry_the_manifest_auth() -> None:
    """Template side of the auth check: tenant and operator routes sit behind the authorizer, none are public.

    The local stack applies the same RouteSpec.auth in-process, so its routes are compared on
    (method, path, function) above and auth is checked here against the manifest.
    """
    deployed = deployed_description(synth_template())
    assert deployed["authorized"] == {(r.method, r.path): r.auth != "none" for r in topology.ROUTES}
