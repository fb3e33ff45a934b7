"""Who may call what: the Lambda authorizer on the HTTP API, the Cognito user pool, the operator key secret,
and the grants of the REST API functions. Resources are found by what they are, never by hashed logical id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Aspects, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks

from infra.app import Synthesized
from infra.constructs.identity import FederatedProvider, Identity
from infra.topology import QUEUES, ROUTES, RouteSpec
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
)

pytestmark = pytest.mark.infra

AUTHORIZED_ROUTES = [r for r in ROUTES if r.auth != "none"]
PUBLIC_ROUTES = [r for r in ROUTES if r.auth == "none"]


def route_key(route: RouteSpec) -> str:
    return f"{route.method} {route.path}"


def routes_by_key(template: Template) -> dict[str, dict[str, Any]]:
    """The HTTP API's routes (the WebSocket API's are tested in test_realtime.py)."""
    http_api = {"Ref": api_id(template, "HTTP")}
    return {r["Properties"]["RouteKey"]: r for r in template["Resources"].values()
            if r["Type"] == "AWS::ApiGatewayV2::Route" and r["Properties"]["ApiId"] == http_api}  # fmt: skip


def statements_of(template: Template, function: str) -> list[dict[str, Any]]:
    _, props = functions_by_name(template)[function]
    return policy_statements(template, props["Role"]["Fn::GetAtt"][0])


def logical_id(template: Template, type_: str) -> str:
    return str(only(resources(template, type_).keys()))


def secret_id(template: Template, name: str) -> str:
    """The logical id of the secret of this name (the stack holds the operator key and the bots' link key)."""
    return str(only([lid for lid, p in resources(template, "AWS::SecretsManager::Secret").items()
                     if p["Name"] == name]))  # fmt: skip


# --- authorizer --------------------------------------------------------------------------------------------


def test_manifest_has_both_public_and_authorized_routes() -> None:
    assert {r.auth for r in AUTHORIZED_ROUTES} == {"tenant", "operator"}
    assert PUBLIC_ROUTES


def test_authorizer_guards_every_tenant_and_operator_route_and_no_public_route(template_dict: Template) -> None:
    authorizer_id = logical_id(template_dict, "AWS::ApiGatewayV2::Authorizer")
    routes = routes_by_key(template_dict)

    for spec in AUTHORIZED_ROUTES:
        props = routes[route_key(spec)]["Properties"]
        assert (props["AuthorizationType"], props["AuthorizerId"]) == ("CUSTOM", {"Ref": authorizer_id}), spec
    for spec in PUBLIC_ROUTES:
        props = routes[route_key(spec)]["Properties"]
        assert props.get("AuthorizationType", "NONE") == "NONE", spec
        assert "AuthorizerId" not in props, spec


def test_greedy_api_routes_accept_any_method(template_dict: Template) -> None:
    routes = routes_by_key(template_dict)
    assert {"ANY /v1/{proxy+}", "ANY /platform/v1/{proxy+}"} <= routes.keys()


def test_authorizer_is_a_simple_lambda_authorizer_without_identity_source_or_cache(template_dict: Template) -> None:
    authorizer = only(resources(template_dict, "AWS::ApiGatewayV2::Authorizer"))
    function_id, _ = functions_by_name(template_dict)["authorizer"]

    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    # Bearer or X-Api-Key: a configured identity source would 401 the requests that send the other header.
    assert not authorizer.get("IdentitySource")
    assert authorizer["AuthorizerResultTtlInSeconds"] == 0
    assert {"Fn::GetAtt": [function_id, "Arn"]} in authorizer["AuthorizerUri"]["Fn::Join"][1]


def test_api_gateway_may_invoke_the_authorizer_function(template_dict: Template) -> None:
    function_id, _ = functions_by_name(template_dict)["authorizer"]
    authorizer_id = logical_id(template_dict, "AWS::ApiGatewayV2::Authorizer")
    permission = only([p for p in resources(template_dict, "AWS::Lambda::Permission").values()
                       if p["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}])  # fmt: skip

    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert {"Ref": authorizer_id} in permission["SourceArn"]["Fn::Join"][1]


def test_only_public_routes_suppress_the_no_authorizer_finding_each_with_its_reason(template_dict: Template) -> None:
    routes = routes_by_key(template_dict)

    def apig4(route: dict[str, Any]) -> list[str]:
        rules = route.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        return [r["reason"] for r in rules if r["id"] == "AwsSolutions-APIG4"]

    assert all(apig4(routes[route_key(spec)]) == [] for spec in AUTHORIZED_ROUTES)
    for spec in PUBLIC_ROUTES:
        [reason] = apig4(routes[route_key(spec)])
        if spec.path.startswith("/webhooks/"):
            assert "HMAC" in reason, spec
        elif spec.path.startswith("/webchat/"):
            assert "signed tokens" in reason, spec
        elif spec.path.startswith("/hooks/workflows/"):
            assert "HMAC token" in reason, spec
        else:
            assert "documentation" in reason, spec


# --- Cognito -----------------------------------------------------------------------------------------------


def test_user_pool_is_invite_only_with_email_sign_in_strong_passwords_and_optional_totp(
    template_dict: Template,
) -> None:
    pool_id = logical_id(template_dict, "AWS::Cognito::UserPool")
    pool = template_dict["Resources"][pool_id]
    props = pool["Properties"]

    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True  # no self sign-up
    assert props["UsernameAttributes"] == ["email"]
    password = dict(props["Policies"]["PasswordPolicy"])
    assert password.pop("MinimumLength") >= 12
    assert password == {
        "RequireLowercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "RequireUppercase": True,
        "TemporaryPasswordValidityDays": 7,
    }
    assert (props["MfaConfiguration"], props["EnabledMfas"]) == ("OPTIONAL", ["SOFTWARE_TOKEN_MFA"])
    assert props["AccountRecoverySetting"] == {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]}
    assert pool["DeletionPolicy"] == "Retain"


def test_user_pool_has_a_mutable_tenant_attribute_and_the_three_role_groups(template_dict: Template) -> None:
    pool_id = logical_id(template_dict, "AWS::Cognito::UserPool")
    schema = resources(template_dict, "AWS::Cognito::UserPool")[pool_id]["Schema"]
    groups = resources(template_dict, "AWS::Cognito::UserPoolGroup").values()

    tenant = only([a for a in schema if a["Name"] == "tenant_id"])
    assert (tenant["AttributeDataType"], tenant["Mutable"]) == ("String", True)
    assert {g["GroupName"] for g in groups} == {"admin", "supervisor", "agent"}
    assert all(g["UserPoolId"] == {"Ref": pool_id} for g in groups)


def test_pre_token_trigger_is_the_cognito_pre_token_function(template_dict: Template) -> None:
    pool_id = logical_id(template_dict, "AWS::Cognito::UserPool")
    pool = resources(template_dict, "AWS::Cognito::UserPool")[pool_id]
    function_id, _ = functions_by_name(template_dict)["cognito_pre_token"]
    function_arn = {"Fn::GetAtt": [function_id, "Arn"]}
    permission = only([p for p in resources(template_dict, "AWS::Lambda::Permission").values()
                       if p["FunctionName"] == function_arn])  # fmt: skip

    # event V2: the trigger can put the tenant in access tokens too
    assert pool["LambdaConfig"]["PreTokenGenerationConfig"] == {"LambdaArn": function_arn, "LambdaVersion": "V2_0"}
    assert permission["Principal"] == "cognito-idp.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": [pool_id, "Arn"]}


def test_pre_token_trigger_does_not_reference_the_pool_it_is_attached_to(template_dict: Template) -> None:
    pool_id = logical_id(template_dict, "AWS::Cognito::UserPool")
    client_id = logical_id(template_dict, "AWS::Cognito::UserPoolClient")
    functions = functions_by_name(template_dict)
    _, pre_token = functions["cognito_pre_token"]

    assert pool_id not in json.dumps(pre_token)
    for name, (_, props) in functions.items():
        if name != "cognito_pre_token":
            env = props["Environment"]["Variables"]
            assert env["USER_POOL_ID"] == {"Ref": pool_id}
            assert env["USER_POOL_CLIENT_ID"] == {"Ref": client_id}
            assert {"Ref": pool_id} in env["COGNITO_ISSUER"]["Fn::Join"][1]
            assert env["COGNITO_ISSUER"]["Fn::Join"][1][0].startswith("https://cognito-idp.")


def test_app_client_is_public_srp_with_one_hour_tokens_and_cannot_write_the_tenant(template_dict: Template) -> None:
    client = only(resources(template_dict, "AWS::Cognito::UserPoolClient"))
    minutes = {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"}

    assert client["GenerateSecret"] is False
    # the console signs in with USER_PASSWORD_AUTH (tests/infra/test_console.py); SDK clients may use SRP
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                                                "ALLOW_REFRESH_TOKEN_AUTH"}
    assert (client["IdTokenValidity"], client["AccessTokenValidity"], client["TokenValidityUnits"]) == (60, 60, minutes)
    assert "custom:tenant_id" in client["ReadAttributes"]
    assert "custom:tenant_id" not in client["WriteAttributes"]
    assert "email" in client["WriteAttributes"]
    # no hosted-UI domain by default, hence no OAuth flows (and no example.com callback)
    assert client["AllowedOAuthFlowsUserPoolClient"] is False
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert not resources(template_dict, "AWS::Cognito::UserPoolDomain")


def test_outputs_name_the_pool_the_client_and_the_operator_secret(synthesized: Synthesized) -> None:
    outputs = synthesized.template["Outputs"]
    pool_id = logical_id(synthesized.template, "AWS::Cognito::UserPool")
    client_id = logical_id(synthesized.template, "AWS::Cognito::UserPoolClient")

    assert outputs["UserPoolId"]["Value"] == {"Ref": pool_id}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": client_id}
    assert outputs["OperatorSecretName"]["Value"] == synthesized.stack.node.get_context("operator_secret_name")


# --- operator key secret -----------------------------------------------------------------------------------


def test_operator_secret_is_a_generated_40_character_key_kept_on_delete(synthesized: Synthesized) -> None:
    operator_secret_id = secret_id(synthesized.template, synthesized.stack.node.get_context("operator_secret_name"))
    secret = synthesized.template["Resources"][operator_secret_id]
    generated = secret["Properties"]["GenerateSecretString"]

    assert secret["Properties"]["Name"] == "omnichannel/platform/operator-keys"  # cdk.json default
    assert generated["PasswordLength"] == 40
    assert generated["ExcludePunctuation"] is True
    assert secret["DeletionPolicy"] == "Retain"
    _, authorizer = functions_by_name(synthesized.template)["authorizer"]
    assert authorizer["Environment"]["Variables"]["OPERATOR_SECRET_NAME"] == secret["Properties"]["Name"]


def test_only_the_authorizer_can_read_the_operator_secret(synthesized: Synthesized) -> None:
    template_dict = synthesized.template
    secret_ref = {"Ref": secret_id(template_dict, synthesized.stack.node.get_context("operator_secret_name"))}
    readers = {
        name: [s for s in statements_of(template_dict, name) if secret_ref in as_list(s["Resource"])]
        for name in functions_by_name(template_dict)
    }
    readers = {name: statements for name, statements in readers.items() if statements}

    assert set(readers) == {"authorizer"}
    assert [as_list(s["Action"]) for s in readers["authorizer"]] == [["secretsmanager:GetSecretValue"]]


# --- grants of the new functions ---------------------------------------------------------------------------


def test_authorizer_only_gets_and_touches_items(template_dict: Template) -> None:
    actions = actions_of(template_dict, "authorizer")
    assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    assert not {a for a in actions if a.split(":")[0] in {"s3", "sqs", "events", "cognito-idp"}}


def test_api_can_send_to_the_outbound_jobs_broadcasts_and_workflows_queues_only(synthesized: Synthesized) -> None:
    queues = queues_by_name(synthesized.template)
    by_name = {spec.name: queues[queue_name(synthesized, spec)][0] for spec in QUEUES}
    sent_to = {
        resource["Fn::GetAtt"][0]
        for s in statements_of(synthesized.template, "api")
        if "sqs:SendMessage" in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }
    assert sent_to == {by_name["outbound"], by_name["jobs"], by_name["broadcasts"], by_name["workflows"]}


def test_api_objects_are_limited_to_the_files_imports_and_exports_prefixes(template_dict: Template) -> None:
    object_resources = {
        json.dumps(resource)
        for s in statements_of(template_dict, "api")
        if any(a.startswith("s3:") for a in as_list(s["Action"]))
        for resource in as_list(s["Resource"])
        if "Fn::Join" in resource  # object ARNs (<bucket arn>/<pattern>); the bucket ARN itself is for List*
    }
    assert {json.loads(r)["Fn::Join"][1][-1] for r in object_resources} == {"/files/*", "/imports/*", "/exports/*"}
    assert "s3:DeleteObject*" in actions_of(template_dict, "api")


def test_cognito_user_administration_is_the_api_and_federation_is_the_platform_api(template_dict: Template) -> None:
    pool_arn = {"Fn::GetAtt": [logical_id(template_dict, "AWS::Cognito::UserPool"), "Arn"]}
    cognito = {
        name: [s for s in statements_of(template_dict, name)
               if any(a.startswith("cognito-idp:") for a in as_list(s["Action"]))]
        for name in functions_by_name(template_dict)
    }  # fmt: skip
    cognito = {name: statements for name, statements in cognito.items() if statements}

    assert set(cognito) == {"api", "platform_api"}
    for statements in cognito.values():
        assert all(as_list(s["Resource"]) == [pool_arn] for s in statements)
        assert not any("*" in a for s in statements for a in as_list(s["Action"]))
    api_actions = {a for s in cognito["api"] for a in as_list(s["Action"])}
    platform_actions = {a for s in cognito["platform_api"] for a in as_list(s["Action"])}
    assert {"cognito-idp:AdminCreateUser", "cognito-idp:AdminAddUserToGroup", "cognito-idp:ListUsers"} <= api_actions
    assert "cognito-idp:CreateIdentityProvider" not in api_actions
    assert platform_actions == {
        "cognito-idp:CreateIdentityProvider",
        "cognito-idp:DescribeIdentityProvider",
        "cognito-idp:DeleteIdentityProvider",  # rollback when the client update fails
        "cognito-idp:UpdateUserPoolClient",
        "cognito-idp:DescribeUserPoolClient",
    }
    assert not {a for a in platform_actions if a.startswith("cognito-idp:Admin")}


def test_platform_api_creates_channel_secrets_only_under_the_prefix_and_cannot_read_them(
    synthesized: Synthesized,
) -> None:
    prefix = synthesized.stack.node.get_context("secret_prefix")
    writers = {}
    for name in functions_by_name(synthesized.template):
        for s in statements_of(synthesized.template, name):
            if "secretsmanager:CreateSecret" in as_list(s["Action"]):
                writers[name] = s

    assert set(writers) == {"platform_api"}
    statement = writers["platform_api"]
    assert set(as_list(statement["Action"])) == {
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:TagResource",
    }
    assert all(r.endswith(f":secret:{prefix}/*") for r in as_list(statement["Resource"]))
    assert "secretsmanager:GetSecretValue" not in actions_of(synthesized.template, "platform_api")


@pytest.mark.parametrize(
    ("function", "allowed_services"),
    [
        ("jobs_worker", {"dynamodb", "s3", "events", "sqs"}),
        ("webhook_dispatcher", {"dynamodb", "sqs"}),  # sqs: its own queue, from the event source
        ("cognito_pre_token", {"dynamodb"}),
    ],
)
def test_workers_and_trigger_reach_only_their_services(
    template_dict: Template, function: str, allowed_services: set[str]
) -> None:
    services = {a.split(":")[0] for a in actions_of(template_dict, function)} - {"logs", "xray"}
    assert services == allowed_services


def test_cognito_pre_token_only_reads_the_table(template_dict: Template) -> None:
    actions = actions_of(template_dict, "cognito_pre_token")
    assert "dynamodb:GetItem" in actions
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} & actions


# --- observability of the API ------------------------------------------------------------------------------


def _route_dimensions(template: Template, route: RouteSpec) -> list[dict[str, Any]]:
    return [
        {"Name": "ApiId", "Value": {"Ref": api_id(template, "HTTP")}},
        {"Name": "Method", "Value": route.method},
        {"Name": "Resource", "Value": route.path},
        {"Name": "Stage", "Value": "$default"},
    ]


def test_authenticated_api_routes_alarm_on_p95_latency_and_on_a_high_4xx_share(template_dict: Template) -> None:
    alarms = list(resources(template_dict, "AWS::CloudWatch::Alarm").values())
    for route in AUTHORIZED_ROUTES:
        dimensions = _route_dimensions(template_dict, route)
        latency = only([a for a in alarms if a.get("MetricName") == "Latency" and a["Dimensions"] == dimensions])
        assert (latency["ExtendedStatistic"], latency["Period"]) == ("p95", 300)
        assert latency["EvaluationPeriods"] > 1  # a sustained slowdown, not one slow burst

        share = only([
            a for a in alarms
            if any(m.get("MetricStat", {}).get("Metric") == {"Dimensions": dimensions, "MetricName": "4xx",
                                                              "Namespace": "AWS/ApiGateway"}
                   for m in a.get("Metrics", []))
        ])  # fmt: skip
        expression = only([m for m in share["Metrics"] if "Expression" in m])["Expression"]
        assert "100 * errors / requests" in expression
    public_paths = {r.path for r in PUBLIC_ROUTES}
    assert not [a for a in alarms if any(r in json.dumps(a) for r in public_paths)]  # docs are charted, not paged


def test_dashboard_charts_4xx_5xx_and_p95_latency_per_api_route(template_dict: Template) -> None:
    body = json.dumps(only(resources(template_dict, "AWS::CloudWatch::Dashboard"))["DashboardBody"])
    for title in ("API 4xx by route", "API 5xx by route", "API latency p95 by route"):
        assert title in body
    for route in ROUTES:
        if route.path.startswith(("/v1/", "/platform/v1/")):
            assert route.path in body, route


@pytest.mark.parametrize("function", ["cognito_pre_token", "ws_connect"])
def test_failures_of_functions_behind_no_queue_or_http_api_alarm(template_dict: Template, function: str) -> None:
    """Cognito reports a failed trigger to the user signing in, the WebSocket API a failed route to its client:
    nothing else would page anyone."""
    function_ids = {name: lid for name, (lid, _) in functions_by_name(template_dict).items()}
    errors = [a for a in resources(template_dict, "AWS::CloudWatch::Alarm").values() if a.get("MetricName") == "Errors"]
    alarmed = {only(a["Dimensions"])["Value"]["Ref"]: a for a in errors}

    assert set(alarmed) == {function_ids["cognito_pre_token"], function_ids["ws_connect"]}
    alarm = alarmed[function_ids[function]]
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_ids[function]}}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


# --- federation (a stack of its own: the app's cdk.json declares no providers) ------------------------------


OIDC = {"type": "OIDC", "name": "t-acme-entra", "tenant_id": "acme", "issuer": "https://login.example.com/acme/v2.0",
        "client_id": "client-123", "client_secret_name": "omnichannel/idp/t-acme-entra"}
SAML = {"type": "SAML", "name": "t-globex-okta", "tenant_id": "globex",
        "metadata_url": "https://globex.okta.example/app/metadata"}


def _identity_stack(**props: Any) -> Stack:
    app = App()
    stack = Stack(app, "IdentityOnly")
    trigger = lambda_.Function(stack, "PreToken", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
                               code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"))
    Identity(stack, "Identity", pre_token_generation=trigger, operator_secret_name="test/operator", **props)
    return stack


@pytest.fixture(scope="module")
def federated() -> tuple[Stack, Template]:
    stack = _identity_stack(
        identity_providers=[FederatedProvider.from_context(OIDC), FederatedProvider.from_context(SAML)],
        domain_prefix="acme-omnichannel",
        callback_urls=["https://console.example.com/auth/callback"],
    )
    Aspects.of(stack).add(AwsSolutionsChecks())
    template = App.of(stack).synth().get_stack_by_name(stack.stack_name).template  # type: ignore[union-attr]
    return stack, template


def test_federated_providers_get_a_hosted_ui_and_the_code_flow(federated: tuple[Stack, Template]) -> None:
    _, template = federated
    by_id = resources(template, "AWS::Cognito::UserPoolIdentityProvider")
    providers = {p["ProviderName"]: p for p in by_id.values()}
    client = only(resources(template, "AWS::Cognito::UserPoolClient"))
    domain = only(resources(template, "AWS::Cognito::UserPoolDomain"))

    assert {name: p["ProviderType"] for name, p in providers.items()} == {"t-acme-entra": "OIDC",
                                                                          "t-globex-okta": "SAML"}
    oidc = providers["t-acme-entra"]["ProviderDetails"]
    assert oidc["oidc_issuer"] == OIDC["issuer"]
    # the client secret is a dynamic reference CloudFormation resolves; its value is never in the template
    assert oidc["client_secret"] == "{{resolve:secretsmanager:omnichannel/idp/t-acme-entra:SecretString:::}}"
    assert providers["t-globex-okta"]["ProviderDetails"]["MetadataURL"] == SAML["metadata_url"]
    supported = {
        p if isinstance(p, str) else by_id[p["Ref"]]["ProviderName"] for p in client["SupportedIdentityProviders"]
    }
    assert supported == {"COGNITO", "t-acme-entra", "t-globex-okta"}
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["CallbackURLs"] == ["https://console.example.com/auth/callback"]
    assert domain["Domain"] == "acme-omnichannel"


def test_federated_identity_is_cdk_nag_clean(federated: tuple[Stack, Template]) -> None:
    stack, _ = federated
    solutions = Match.string_like_regexp("AwsSolutions-.*")
    findings = Annotations.from_stack(stack).find_error("*", solutions)
    findings += Annotations.from_stack(stack).find_warning("*", solutions)
    # the test's stand-in trigger function is not under test, the Identity construct is
    assert [f.id for f in findings if f.id.startswith("/IdentityOnly/Identity/")] == []
    assert findings, "the checks ran (the stand-in function is flagged)"


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"identity_providers": [FederatedProvider.from_context(SAML)]}, "cognito_domain_prefix"),
        ({"domain_prefix": "acme-omnichannel"}, "cognito_callback_urls"),
    ],
)
def test_federation_without_a_hosted_ui_fails_the_synth(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _identity_stack(**props)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**OIDC, "type": "LDAP"}, "OIDC or SAML"),
        ({k: v for k, v in OIDC.items() if k != "client_secret_name"}, "client_secret_name"),
        ({**SAML, "name": "has space"}, "3-32"),
        ({**SAML, "name": "t-acme-okta"}, "t-globex-"),  # named after another tenant
        ({**SAML, "metadata": "<xml/>"}, "unknown keys"),
    ],
)
def test_invalid_identity_provider_context_is_rejected(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FederatedProvider.from_context(entry)
