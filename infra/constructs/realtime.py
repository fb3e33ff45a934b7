"""The push channel of agents' and supervisors' clients: an API Gateway WebSocket API.

One route per WebSocketRouteSpec, each on its function through a Lambda proxy integration, and one stage
("live", auto-deployed) with JSON access logs and throttling. No Lambda authorizer: the $connect function
authenticates the token itself, the alternative AWS documents for WebSocket APIs. A WebSocket authorizer must
answer with an IAM policy (the HTTP API's simple responses do not exist there), so the REST authorizer could not
be reused as it is; a refusal in $connect rejects the handshake just the same.

Unlike HTTP APIs, a WebSocket stage can only log when the account's API Gateway settings name a CloudWatch
role (per account and region). The construct sets it (AWS::ApiGateway::Account), as CDK's RestApi does, unless
`account_logging_role=False` (CDK context `apigateway_cloudwatch_role: false`) because the account already has
one; the role is kept on delete so the account setting never names a deleted role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.constructs.api import JsonAccessLogs
from infra.topology import WebSocketRouteSpec

STAGE_NAME = "live"
CONNECT = "$connect"
# What AWS's managed AmazonAPIGatewayPushToCloudWatchLogs grants, inline (no managed policies in this stack).
# The role is the account's, shared by every REST and WebSocket API in the region, so it cannot be narrowed
# to this stack's log groups without breaking the others' logging.
PUSH_TO_CLOUDWATCH_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
)
# Per stage: connections and messages (each client sends a ping every few minutes; pushes are not counted).
THROTTLE = apigwv2.ThrottleSettings(burst_limit=500, rate_limit=200)
# WebSocket API context variables (HTTP-only ones such as $context.protocol are rejected on deploy).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "eventType": "$context.eventType",
    "connectionId": "$context.connectionId",
    "status": "$context.status",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integration.error",
    "error": "$context.error.message",
}


class Realtime(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: Sequence[WebSocketRouteSpec],
        functions: Mapping[str, lambda_.IFunction],
        api_name: str,
        stage_name: str = STAGE_NAME,
        account_logging_role: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.WebSocketApi(
            self,
            "WebSocketApi",
            api_name=api_name,
            description="Pushes conversation, queue and agent events to agents' and supervisors' clients",
        )
        for spec in routes:
            if spec.authorized and spec.route_key != CONNECT:
                raise ValueError(f"{spec.route_key}: only $connect can be authorized in a WebSocket API")
            route = self.api.add_route(
                spec.route_key,
                integration=integrations.WebSocketLambdaIntegration(
                    f"{spec.route_key.strip('$')}-integration", functions[spec.function]
                ),
            )
            NagSuppressions.add_resource_suppressions(
                route,
                [NagPackSuppression(id="AwsSolutions-APIG4", reason=_route_reason(spec))],
                apply_to_children=True,
            )
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=stage_name,
            auto_deploy=True,
            throttle=THROTTLE,
            access_log_settings=JsonAccessLogs(self.access_logs, ACCESS_LOG_FORMAT),
        )
        if account_logging_role:
            self.stage.node.add_dependency(self._account_logging_role())

    def _account_logging_role(self) -> apigw.CfnAccount:
        role = iam.Role(
            self,
            "ApiGatewayCloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway account setting: lets WebSocket and REST stages write their logs",
        )
        role.add_to_policy(iam.PolicyStatement(actions=list(PUSH_TO_CLOUDWATCH_ACTIONS), resources=["*"]))
        role.apply_removal_policy(RemovalPolicy.RETAIN)
        NagSuppressions.add_resource_suppressions(
            role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="The account-level API Gateway logging role (AWS::ApiGateway::Account) is shared by every "
                    "REST and WebSocket API of the account and region, whose log groups are not known here: the "
                    "actions of AWS's AmazonAPIGatewayPushToCloudWatchLogs, on Resource *, inline.",
                    applies_to=["Resource::*"],
                )
            ],
            apply_to_children=True,
        )
        account = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        account.node.add_dependency(role)  # the policy too: API Gateway checks the role can write logs
        return account

    @property
    def url(self) -> str:
        """wss://<api>.execute-api.<region>.amazonaws.com/<stage>: where clients connect."""
        return self.stage.url

    @property
    def management_url(self) -> str:
        """https://<api>.execute-api.<region>.amazonaws.com/<stage>: the @connections management API."""
        return self.stage.callback_url

    def grant_manage_connections(self, grantee: iam.IGrantable) -> None:
        """execute-api:ManageConnections on this stage's @connections/* only (post, read, close)."""
        self.stage.grant_management_api_access(grantee)


def _route_reason(spec: WebSocketRouteSpec) -> str:
    """Why a WebSocket route carries no API Gateway authorizer; a route without a known reason fails the synth."""
    if spec.route_key == CONNECT and spec.authorized:
        return (
            "$connect authenticates in its function: the token (query string `token` or the Authorization header; "
            "a Cognito ID token or a tenant API key) goes through the same Authenticator as the REST authorizer, "
            "and a refusal answers 401/403, which rejects the WebSocket handshake."
        )
    if spec.route_key in ("$disconnect", "$default"):
        return (
            f"{spec.route_key} only runs on a connection that $connect already authenticated (API Gateway allows "
            "an authorizer on $connect only); the function acts on that connection id alone."
        )
    raise ValueError(f"WebSocket route {spec.route_key} has no authorization reason recorded in realtime.py")
