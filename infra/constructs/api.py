"""The public HTTP API: one route per RouteSpec, a throttled default stage with JSON access logs.

Routes with auth "tenant" or "operator" go through one Lambda authorizer; auth "none" routes stay public and
each carries the reason why in its APIG4 suppression.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.topology import RouteSpec

# Routes under this prefix take provider webhooks, authenticated in the function (see the APIG4 suppression).
WEBHOOK_PATH_PREFIX = "/webhooks/"
# The API's own documentation, public so integrators can read it before they have a key.
PUBLIC_DOC_PATHS = frozenset({"/v1/openapi.json", "/v1/docs"})
AUTHORIZED = frozenset({"tenant", "operator"})
PUBLIC = "none"
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
    "authorizerError": "$context.authorizer.error",  # why the Lambda authorizer refused or failed a request
}


@jsii.implements(apigwv2.IAccessLogSettings)
class JsonAccessLogs:
    """Access logs as one JSON object per request, written to a CloudWatch log group."""

    def __init__(self, log_group: logs.ILogGroup, fields: Mapping[str, str] | None = None) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)
        self._fields = dict(fields or ACCESS_LOG_FORMAT)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(self._fields))


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: Sequence[RouteSpec],
        functions: Mapping[str, lambda_.IFunction],
        api_name: str,
        authorizer_function: lambda_.IFunction | None = None,
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
            # Route-level metrics (4xx, 5xx, latency per route) for the dashboard and the /v1 alarms.
            detailed_metrics_enabled=True,
            access_log_settings=JsonAccessLogs(self.access_logs),
        )

        # One integration per function, shared by its routes (GET and POST of the webhook).
        integration_for = {
            name: integrations.HttpLambdaIntegration(f"{name}-integration", functions[name])
            for name in dict.fromkeys(route.function for route in routes)
        }
        self.authorizer = self._authorizer(authorizer_function) if authorizer_function else None
        for route in routes:
            if route.auth not in AUTHORIZED | {PUBLIC}:
                raise ValueError(f"{route.method} {route.path}: unknown auth {route.auth!r}")
            if route.auth in AUTHORIZED and self.authorizer is None:
                raise ValueError(f"{route.method} {route.path}: auth {route.auth!r} needs an authorizer function")
            added = self.http_api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod(route.method)],  # "ANY" is HttpMethod.ANY
                integration=integration_for[route.function],
                authorizer=self.authorizer if route.auth in AUTHORIZED else apigwv2.HttpNoneAuthorizer(),
            )
            if route.auth == PUBLIC:
                NagSuppressions.add_resource_suppressions(
                    added,
                    [NagPackSuppression(id="AwsSolutions-APIG4", reason=_public_route_reason(route))],
                    apply_to_children=True,
                )
        if self.authorizer is not None:
            self._drop_identity_source()

    def _authorizer(self, function: lambda_.IFunction) -> authorizers.HttpLambdaAuthorizer:
        """One authorizer for tenant and operator routes; the function tells them apart by the route API Gateway
        matched (the event's routeKey), never by a path the client controls.

        No identity source and no result cache, on purpose: clients authenticate with either
        `Authorization: Bearer <key or JWT>` or `X-Api-Key: <key>`, and API Gateway answers 401 without calling
        the authorizer when any configured identity source is missing from the request, so configuring either
        header would lock out the clients that send the other. Without an identity source there is no cache
        key, so caching must be off (TTL 0); the function caches keys and tenants itself for a minute.
        """
        return authorizers.HttpLambdaAuthorizer(
            "Authorizer",
            function,
            authorizer_name="tenant-or-operator",
            response_types=[authorizers.HttpLambdaResponseType.SIMPLE],
            identity_source=[],
            results_cache_ttl=Duration.seconds(0),
        )

    def _drop_identity_source(self) -> None:
        """CDK renders `IdentitySource: []`; leave the property out, as CloudFormation documents for no source."""
        for child in self.http_api.node.find_all():
            if isinstance(child, apigwv2.CfnAuthorizer):
                child.add_property_deletion_override("IdentitySource")

    @property
    def url(self) -> str:
        assert self.stage.url  # the $default stage serves the API root
        return self.stage.url


def _public_route_reason(route: RouteSpec) -> str:
    """Why a route may skip the authorizer; a public route without a known reason fails the synth."""
    if route.path.startswith(WEBHOOK_PATH_PREFIX):
        return (
            "Provider webhook route: Meta cannot send auth headers, so the handler authenticates every POST by its "
            "X-Hub-Signature-256 HMAC (app secret) and the GET verification by the channel's verify token."
        )
    if route.path.startswith("/hooks/workflows/"):
        return (
            "Incoming-webhook trigger of a workflow, called by the tenant's own systems: the URL carries the "
            "workflow's HMAC token (checked in constant time), the tenant comes from the workflow, and the function "
            "only enqueues a start."
        )
    if route.path.startswith("/webchat/"):
        return (
            "Web chat's public API for site visitors (no account with us): sessions are HMAC-signed tokens issued by "
            "the function per channel, every data route checks the token, and the widget script and config are "
            "public by nature (they are embedded in customers' web pages)."
        )
    if route.path in PUBLIC_DOC_PATHS and route.method == "GET":
        return (
            "Public API documentation (the OpenAPI document and the page that renders it): it describes the API "
            "and returns no tenant data; every data route under /v1 goes through the Lambda authorizer."
        )
    raise ValueError(f"{route.method} {route.path} is public (auth 'none') but no reason is recorded in api.py")
