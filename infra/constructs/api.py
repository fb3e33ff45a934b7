"""The public HTTP API: one route per RouteSpec, a throttled default stage with JSON access logs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.topology import RouteSpec

# Routes under this prefix take provider webhooks, authenticated in the function (see the APIG4 suppression).
WEBHOOK_PATH_PREFIX = "/webhooks/"
THROTTLE = apigwv2.ThrottleSettings(burst_limit=2000, rate_limit=1000)
# HTTP API context variables (REST-only ones such as $context.identity.caller are rejected on deploy).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _JsonAccessLogs:
    """Access logs as one JSON object per request, written to a CloudWatch log group."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT))


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: Sequence[RouteSpec],
        functions: Mapping[str, lambda_.IFunction],
        api_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigwv2.HttpApi(self, "HttpApi", api_name=api_name, create_default_stage=False)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        # The default stage is declared by hand because HttpApiProps has no access-log settings.
        self.stage = self.http_api.add_stage(
            "DefaultStage",
            auto_deploy=True,
            throttle=THROTTLE,
            access_log_settings=_JsonAccessLogs(self.access_logs),
        )

        # One integration per function, shared by its routes (GET and POST of the webhook).
        integration_for = {
            name: integrations.HttpLambdaIntegration(f"{name}-integration", functions[name])
            for name in dict.fromkeys(route.function for route in routes)
        }
        for route in routes:
            added = self.http_api.add_routes(
                path=route.path, methods=[apigwv2.HttpMethod(route.method)], integration=integration_for[route.function]
            )
            if route.path.startswith(WEBHOOK_PATH_PREFIX):
                NagSuppressions.add_resource_suppressions(
                    added,
                    [
                        NagPackSuppression(
                            id="AwsSolutions-APIG4",
                            reason="Provider webhook route: Meta cannot send auth headers, so the handler "
                            "authenticates every POST by its X-Hub-Signature-256 HMAC (app secret) and the GET "
                            "verification by the channel's verify token.",
                        )
                    ],
                    apply_to_children=True,
                )

    @property
    def url(self) -> str:
        assert self.stage.url  # the $default stage serves the API root
        return self.stage.url
