"""The push channel (API Gateway WebSocket API) and the contact-center functions in the synthesized template:
routes, stage, who may manage connections, and the least-privilege grants of router, realtime_push and
ws_connect. Resources are found by what they are, never by hashed logical id."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.app import Synthesized
from infra.topology import QUEUES, WEBSOCKET_ROUTES
from tests.infra.test_template import (
    Template,
    actions_of,
    api_id,
    as_list,
    functions_by_name,
    only,
    policy_statements,
    queue_name,
    queues_by_name,
    resources,
    routes_of,
)

pytestmark = pytest.mark.infra

MANAGERS = {"realtime_push", "ws_connect", "api", "outbound_sender"}


def statements_of(template: Template, function: str) -> list[dict[str, Any]]:
    _, props = functions_by_name(template)[function]
    return policy_statements(template, props["Role"]["Fn::GetAtt"][0])


def websocket_stage(template: Template) -> dict[str, Any]:
    ws = {"Ref": api_id(template, "WEBSOCKET")}
    return dict(only([s for s in resources(template, "AWS::ApiGatewayV2::Stage").values() if s["ApiId"] == ws]))


# --- the WebSocket API -------------------------------------------------------------------------------------------


def test_websocket_routes_equal_the_topology_routes_on_their_functions(template_dict: Template) -> None:
    functions = {lid: name for name, (lid, _) in functions_by_name(template_dict).items()}
    integrations = resources(template_dict, "AWS::ApiGatewayV2::Integration")
    routes = routes_of(template_dict, "WEBSOCKET")

    assert set(routes) == {r.route_key for r in WEBSOCKET_ROUTES}
    for spec in WEBSOCKET_ROUTES:
        integration = integrations[routes[spec.route_key]["Target"]["Fn::Join"][1][1]["Ref"]]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert functions[integration["IntegrationUri"]["Fn::Join"][1][1]["Fn::GetAtt"][0]] == spec.function


def test_connect_authenticates_in_its_function_and_every_route_says_why_it_has_no_authorizer(
        template_dict: Template) -> None:
    ws = {"Ref": api_id(template_dict, "WEBSOCKET")}
    routes = [r for r in template_dict["Resources"].values()
              if r["Type"] == "AWS::ApiGatewayV2::Route" and r["Properties"]["ApiId"] == ws]  # fmt: skip

    assert not [r for r in resources(template_dict, "AWS::ApiGatewayV2::Authorizer").values() if r["ApiId"] == ws]
    for route in routes:
        assert route["Properties"].get("AuthorizationType", "NONE") == "NONE"
        [reason] = [r["reason"] for r in route["Metadata"]["cdk_nag"]["rules_to_suppress"]
                    if r["id"] == "AwsSolutions-APIG4"]  # fmt: skip
        if route["Properties"]["RouteKey"] == "$connect":
            assert "Authenticator" in reason and "401" in reason
        else:
            assert "$connect" in reason


def test_websocket_stage_is_live_auto_deployed_throttled_and_access_logged(template_dict: Template) -> None:
    stage = websocket_stage(template_dict)
    log_groups = resources(template_dict, "AWS::Logs::LogGroup")

    assert stage["StageName"] == "live"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert log_groups[stage["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]]["RetentionInDays"] == 30
    access_log = json.loads(stage["AccessLogSettings"]["Format"])
    assert access_log["connectionId"] == "$context.connectionId"
    assert access_log["eventType"] == "$context.eventType"


def test_the_account_names_a_cloudwatch_role_before_the_stage_logs(template_dict: Template) -> None:
    """WebSocket stages (unlike HTTP ones) fail to deploy with access logs until the account setting names a role."""
    [(account_id, account)] = [(lid, r) for lid, r in template_dict["Resources"].items()
                               if r["Type"] == "AWS::ApiGateway::Account"]  # fmt: skip
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = template_dict["Resources"][role_id]
    stage_id = only([lid for lid, r in template_dict["Resources"].items() if r["Type"] == "AWS::ApiGatewayV2::Stage"
                     and r["Properties"]["ApiId"] == {"Ref": api_id(template_dict, "WEBSOCKET")}])  # fmt: skip

    assert account_id in template_dict["Resources"][stage_id]["DependsOn"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"}
    assert role["DeletionPolicy"] == "Retain"  # the account setting must never name a deleted role
    actions = {a for s in policy_statements(template_dict, role_id) for a in as_list(s["Action"])}
    assert actions == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
                       "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents"}


def test_api_gateway_may_invoke_ws_connect_only_from_this_api(template_dict: Template) -> None:
    function_id, _ = functions_by_name(template_dict)["ws_connect"]
    ws = {"Ref": api_id(template_dict, "WEBSOCKET")}
    permissions = [p for p in resources(template_dict, "AWS::Lambda::Permission").values()
                   if p["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}]  # fmt: skip

    assert len(permissions) == len(WEBSOCKET_ROUTES)
    for permission in permissions:
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert ws in permission["SourceArn"]["Fn::Join"][1]


def test_websocket_url_is_an_output(template_dict: Template) -> None:
    url = template_dict["Outputs"]["WebSocketUrl"]["Value"]["Fn::Join"][1]
    assert url[0] == "wss://" and url[1] == {"Ref": api_id(template_dict, "WEBSOCKET")}
    assert url[-1] == "/live"


def test_management_url_is_the_stage_callback_url(template_dict: Template) -> None:
    for name in MANAGERS:
        _, props = functions_by_name(template_dict)[name]
        url = props["Environment"]["Variables"]["WEBSOCKET_MANAGEMENT_URL"]["Fn::Join"][1]
        assert url[0] == "https://" and url[1] == {"Ref": api_id(template_dict, "WEBSOCKET")} and url[-1] == "/live"


# --- who may manage connections ----------------------------------------------------------------------------------


def test_only_the_pushers_may_manage_connections_and_only_on_this_stage(synthesized: Synthesized) -> None:
    template = synthesized.template
    ws = {"Ref": api_id(template, "WEBSOCKET")}
    holders = {}
    for name in functions_by_name(template):
        statements = [s for s in statements_of(template, name)
                      if any(a.startswith("execute-api:") for a in as_list(s["Action"]))]  # fmt: skip
        if statements:
            holders[name] = statements

    assert set(holders) == MANAGERS
    for statements in holders.values():
        statement = only(statements)
        assert as_list(statement["Action"]) == ["execute-api:ManageConnections"]
        parts = only(as_list(statement["Resource"]))["Fn::Join"][1]
        assert ws in parts and parts[-1] == "/live/*/@connections/*"


# --- least privilege of the contact-center functions --------------------------------------------------------------


def test_ws_connect_reads_and_writes_items_only_and_reads_only_channel_secrets(template_dict: Template) -> None:
    actions = actions_of(template_dict, "ws_connect")
    services = {a.split(":")[0] for a in actions} - {"logs", "xray"}

    # secrets: the web chat channel's key that signs visitors' session tokens (GetSecretValue only)
    assert services == {"dynamodb", "execute-api", "secretsmanager"}
    assert {a for a in actions if a.startswith("secretsmanager:")} == {"secretsmanager:GetSecretValue"}
    assert {a for a in actions if a.startswith("dynamodb:")} == {
        "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
    _, props = functions_by_name(template_dict)["ws_connect"]
    env = props["Environment"]["Variables"]
    assert "OPERATOR_SECRET_NAME" not in env  # tenant credentials only
    assert {"USER_POOL_ID", "USER_POOL_CLIENT_ID", "COGNITO_ISSUER"} <= env.keys()  # agents' JWTs


def test_realtime_push_reads_connections_and_campaigns_and_deletes_gone_connections(template_dict: Template) -> None:
    actions = actions_of(template_dict, "realtime_push")
    services = {a.split(":")[0] for a in actions} - {"logs", "xray"}

    assert services == {"dynamodb", "sqs", "execute-api"}  # sqs: its own queue, from the event source
    assert {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:DeleteItem"} <= actions
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"} & actions
    assert "events:PutEvents" not in actions


def test_router_writes_the_table_publishes_events_and_sends_to_the_outbound_queue(synthesized: Synthesized) -> None:
    template = synthesized.template
    queues = queues_by_name(template)
    by_name = {spec.name: queues[queue_name(synthesized, spec)][0] for spec in QUEUES}
    actions = actions_of(template, "router")
    sent_to = {resource["Fn::GetAtt"][0] for s in statements_of(template, "router")
               if "sqs:SendMessage" in as_list(s["Action"]) for resource in as_list(s["Resource"])}  # fmt: skip

    assert {a.split(":")[0] for a in actions} - {"logs", "xray"} == {"dynamodb", "events", "sqs"}
    # TransactWriteItems is authorized per item action: puts, updates, deletes and condition checks
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem",
            "dynamodb:Query"} <= actions
    assert "events:PutEvents" in actions
    assert sent_to == {by_name["outbound"]}


# --- observability ----------------------------------------------------------------------------------------------------


def test_dashboard_charts_the_websocket_api_and_the_pushes(template_dict: Template) -> None:
    body = json.dumps(only(resources(template_dict, "AWS::CloudWatch::Dashboard"))["DashboardBody"])
    for text in ("WebSocket API", "ConnectCount", "ExecutionError", "Realtime pushes", "RealtimePushes"):
        assert text in body


@pytest.mark.parametrize("name", ["routing", "realtime"])
def test_contact_center_queues_alarm_on_age_and_dead_letters(synthesized: Synthesized, name: str) -> None:
    queues = queues_by_name(synthesized.template)
    spec = next(q for q in QUEUES if q.name == name)
    queue_id, dlq_id = queues[queue_name(synthesized, spec)][0], queues[queue_name(synthesized, spec, "-dlq")][0]
    alarmed = {(a["MetricName"], only(a["Dimensions"])["Value"]["Fn::GetAtt"][0])
               for a in resources(synthesized.template, "AWS::CloudWatch::Alarm").values()
               if a.get("Namespace") == "AWS/SQS"}  # fmt: skip

    assert ("ApproximateAgeOfOldestMessage", queue_id) in alarmed
    assert ("ApproximateNumberOfMessagesVisible", dlq_id) in alarmed


def test_an_account_that_already_has_a_logging_role_keeps_it() -> None:
    """CDK context apigateway_cloudwatch_role=false: the stage logs through the role the account already has."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Template as CdkTemplate

    from infra.constructs.realtime import Realtime

    stack = Stack(App(), "RealtimeOnly")
    fn = lambda_.Function(stack, "Ws", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
                          code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"))
    Realtime(stack, "Realtime", routes=WEBSOCKET_ROUTES, functions={"ws_connect": fn}, api_name="only",
             account_logging_role=False)
    template = CdkTemplate.from_stack(stack).to_json()

    assert not resources(template, "AWS::ApiGateway::Account")
    assert only(resources(template, "AWS::ApiGatewayV2::Stage"))["AccessLogSettings"]
