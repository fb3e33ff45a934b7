"""The synthesized template carries what infra/topology.py declares, with the house defaults.

Resources are found by what they are (handler, queue name, route key), never by hashed logical id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from infra.app import Synthesized
from infra.topology import (
    FUNCTIONS,
    QUEUES,
    ROUTES,
    RULES,
    SCHEDULES,
    TABLE,
    QueueSpec,
    ScheduleSpec,
    function,
    queue,
)
from shared.config import Settings
from shared.topology_names import EVENT_SOURCE

pytestmark = pytest.mark.infra

Template = dict[str, Any]
ONE_MONTH_DAYS = 30
FOURTEEN_DAYS_S = 14 * 24 * 3600


def resources(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    """logical id -> Properties of every resource of one type."""
    return {lid: r.get("Properties", {}) for lid, r in template["Resources"].items() if r["Type"] == type_}


def only(items: Iterable[Any]) -> Any:
    """The single element (a dict's single value); fails when there are none or several."""
    values = list(items.values()) if isinstance(items, dict) else list(items)
    assert len(values) == 1, values
    return values[0]


def api_id(template: Template, protocol: str) -> str:
    """The logical id of the HTTP or the WEBSOCKET API."""
    return str(only([lid for lid, p in resources(template, "AWS::ApiGatewayV2::Api").items()
                     if p["ProtocolType"] == protocol]))  # fmt: skip


def routes_of(template: Template, protocol: str) -> dict[str, dict[str, Any]]:
    """route key -> Properties of the routes of the HTTP or the WEBSOCKET API."""
    api = {"Ref": api_id(template, protocol)}
    return {p["RouteKey"]: p for p in resources(template, "AWS::ApiGatewayV2::Route").values() if p["ApiId"] == api}


def platform_functions(template: Template) -> dict[str, dict[str, Any]]:
    """The platform's own functions (functions/<name>/handler.py), not CDK's custom-resource handlers (the
    console's BucketDeployment runs one)."""
    return {lid: p for lid, p in resources(template, "AWS::Lambda::Function").items()
            if p["Handler"].startswith("functions.")}  # fmt: skip


def functions_by_name(template: Template) -> dict[str, tuple[str, dict[str, Any]]]:
    by_handler = {p["Handler"]: (lid, p) for lid, p in resources(template, "AWS::Lambda::Function").items()}
    return {spec.name: by_handler[spec.handler] for spec in FUNCTIONS}


def queue_name(synthesized: Synthesized, spec: QueueSpec, suffix: str = "") -> str:
    name = f"{synthesized.stack.stack_name.lower()}-{spec.name}{suffix}"
    return f"{name}.fifo" if spec.fifo else name


def queues_by_name(template: Template) -> dict[str, tuple[str, dict[str, Any]]]:
    return {p["QueueName"]: (lid, p) for lid, p in resources(template, "AWS::SQS::Queue").items()}


def policy_statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Roles"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_of(template: Template, function: str) -> set[str]:
    _, props = functions_by_name(template)[function]
    role_id = props["Role"]["Fn::GetAtt"][0]
    return {action for s in policy_statements(template, role_id) for action in as_list(s["Action"])}


# --- functions ---------------------------------------------------------------------------------------------


def test_every_topology_function_is_deployed_with_the_house_defaults(template_dict: Template) -> None:
    layer_id = only({layer["Ref"] for p in platform_functions(template_dict).values() for layer in p["Layers"]})
    log_groups = resources(template_dict, "AWS::Logs::LogGroup")
    functions = functions_by_name(template_dict)

    assert len(platform_functions(template_dict)) == len(FUNCTIONS)
    for spec in FUNCTIONS:
        _, props = functions[spec.name]
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.13"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["Layers"] == [{"Ref": layer_id}]
        assert (props["MemorySize"], props["Timeout"]) == (spec.memory_mb, spec.timeout_s)
        assert "ReservedConcurrentExecutions" not in props
        assert log_groups[props["LoggingConfig"]["LogGroup"]["Ref"]]["RetentionInDays"] == ONE_MONTH_DAYS


def test_functions_share_one_code_asset_and_one_arm64_layer(template_dict: Template) -> None:
    functions = platform_functions(template_dict)
    code_keys = {p["Code"]["S3Key"] for p in functions.values()}
    layer = resources(template_dict, "AWS::Lambda::LayerVersion")[
        only({layer["Ref"] for p in functions.values() for layer in p["Layers"]})
    ]

    assert len(code_keys) == 1
    assert layer["CompatibleRuntimes"] == ["python3.13"]
    assert layer["CompatibleArchitectures"] == ["arm64"]


def test_every_function_gets_the_shared_environment(synthesized: Synthesized) -> None:
    shared = {"TABLE_NAME", "BUS_NAME", "MEDIA_BUCKET", "SECRET_PREFIX", "GRAPH_BASE_URL", "GRAPH_API_VERSION"}
    identity = {"USER_POOL_ID", "USER_POOL_CLIENT_ID", "COGNITO_ISSUER"}
    queues = queues_by_name(synthesized.template)
    queue_urls = {spec.env_var: {"Ref": queues[queue_name(synthesized, spec)][0]} for spec in QUEUES}

    for name, (_, props) in functions_by_name(synthesized.template).items():
        env = props["Environment"]["Variables"]
        assert shared <= env.keys()
        # the pre-token trigger is attached to the pool, so it cannot reference it (circular dependency)
        assert (identity <= env.keys()) is (name != "cognito_pre_token"), name
        assert ("OPERATOR_SECRET_NAME" in env) is (name == "authorizer"), name
        assert ("BOT_LINK_SECRET_NAME" in env) is (name in {"bot_turn", "api", "workflows", "workflow_webhook"}), name
        assert ("WORKFLOW_SCHEDULER_ROLE_ARN" in env) is (name in {"api", "workflows", "workflow_webhook"}), name
        assert ("WEBSOCKET_MANAGEMENT_URL" in env) is (
            name in {"realtime_push", "ws_connect", "api", "outbound_sender"}), name
        assert {var: env.get(var) for var in queue_urls} == queue_urls
        assert env["POWERTOOLS_SERVICE_NAME"] == name
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Omnichannel"
        assert env["LOG_LEVEL"] == "INFO"
        assert env["SECRET_PREFIX"] == synthesized.stack.node.get_context("secret_prefix")


def test_roles_use_no_managed_policies(template_dict: Template) -> None:
    for role in resources(template_dict, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role


# --- queues and consumers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", QUEUES, ids=lambda q: q.name)
def test_queue_has_a_dead_letter_queue_of_its_kind(synthesized: Synthesized, spec: QueueSpec) -> None:
    queues = queues_by_name(synthesized.template)
    _, queue = queues[queue_name(synthesized, spec)]
    dlq_id, dlq = queues[queue_name(synthesized, spec, "-dlq")]

    assert queue.get("FifoQueue", False) is spec.fifo
    assert dlq.get("FifoQueue", False) is spec.fifo
    assert "ContentBasedDeduplication" not in queue  # producers set MessageDeduplicationId
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": spec.max_receive_count,
    }
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_s
    assert dlq["MessageRetentionPeriod"] == FOURTEEN_DAYS_S
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True


def test_every_queue_denies_requests_without_tls(template_dict: Template) -> None:
    denied: set[str] = set()
    for policy in resources(template_dict, "AWS::SQS::QueuePolicy").values():
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}:
                denied |= {q["Ref"] for q in policy["Queues"]}
    assert denied == set(resources(template_dict, "AWS::SQS::Queue"))


@pytest.mark.parametrize("spec", QUEUES, ids=lambda q: q.name)
def test_consumer_reads_its_queue_with_partial_batch_failures(synthesized: Synthesized, spec: QueueSpec) -> None:
    queue_id, _ = queues_by_name(synthesized.template)[queue_name(synthesized, spec)]
    function_id, _ = functions_by_name(synthesized.template)[spec.consumer]
    mapping = only(
        [
            m
            for m in resources(synthesized.template, "AWS::Lambda::EventSourceMapping").values()
            if m["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        ]
    )

    assert mapping["FunctionName"] == {"Ref": function_id}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == spec.batch_size
    assert mapping.get("MaximumBatchingWindowInSeconds", 0) == spec.max_batching_window_s


def test_every_event_source_mapping_reports_batch_item_failures(template_dict: Template) -> None:
    mappings = resources(template_dict, "AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == len(QUEUES)
    assert all(m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(template_dict: Template) -> None:
    functions = functions_by_name(template_dict)
    for spec in QUEUES:
        assert spec.visibility_timeout_s >= 6 * functions[spec.consumer][1]["Timeout"], spec.name


# --- table and bucket --------------------------------------------------------------------------------------


def test_table_has_keys_gsis_ttl_pitr_and_encryption(template_dict: Template) -> None:
    table_id, table = only(resources(template_dict, "AWS::DynamoDB::Table").items())

    assert table["KeySchema"] == [
        {"AttributeName": TABLE.pk, "KeyType": "HASH"},
        {"AttributeName": TABLE.sk, "KeyType": "RANGE"},
    ]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": TABLE.ttl_attribute, "Enabled": True}
    assert {g["IndexName"]: (g["KeySchema"], g["Projection"]) for g in table["GlobalSecondaryIndexes"]} == {
        gsi.name: (
            [{"AttributeName": gsi.pk, "KeyType": "HASH"}, {"AttributeName": gsi.sk, "KeyType": "RANGE"}],
            {"ProjectionType": "ALL"},
        )
        for gsi in TABLE.gsis
    }
    assert template_dict["Resources"][table_id]["DeletionPolicy"] == "Retain"


def test_media_bucket_is_private_versioned_logged_and_expires_quarantine(template_dict: Template) -> None:
    buckets = resources(template_dict, "AWS::S3::Bucket")
    media_id, media = only([(lid, p) for lid, p in buckets.items()
                            if p.get("LoggingConfiguration", {}).get("LogFilePrefix") == "media/"])  # fmt: skip
    log_bucket_id = media["LoggingConfiguration"]["DestinationBucketName"]["Ref"]

    assert log_bucket_id in buckets and log_bucket_id != media_id
    assert media["VersioningConfiguration"] == {"Status": "Enabled"}
    quarantine = only([r for r in media["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "quarantine/"])
    assert quarantine["ExpirationInDays"] == 90
    for bucket_id, bucket in buckets.items():
        assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        )
        sse = only(bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"])
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert template_dict["Resources"][bucket_id]["DeletionPolicy"] == "Retain"
    policies = resources(template_dict, "AWS::S3::BucketPolicy").values()
    tls_only = {
        p["Bucket"]["Ref"]
        for p in policies
        for s in p["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    }
    assert tls_only == set(buckets)


# --- events ------------------------------------------------------------------------------------------------


def test_bus_archives_every_platform_event(synthesized: Synthesized) -> None:
    bus_id, bus = only(resources(synthesized.template, "AWS::Events::EventBus").items())
    archive = only(resources(synthesized.template, "AWS::Events::Archive"))

    assert bus["Name"] == synthesized.stack.node.get_context("bus_name")
    assert archive["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert archive["EventPattern"] == {"source": [EVENT_SOURCE]}
    assert archive["RetentionDays"] > 0


def test_rules_route_topology_patterns_to_their_queues_with_a_dead_letter_queue(synthesized: Synthesized) -> None:
    template = synthesized.template
    bus_id = only(resources(template, "AWS::Events::EventBus").keys())
    queues = queues_by_name(template)
    events_dlq_id, _ = queues[f"{synthesized.stack.stack_name.lower()}-events-dlq"]
    rules = [r for r in resources(template, "AWS::Events::Rule").values() if "EventPattern" in r]

    assert len(rules) == len(RULES)
    for spec in RULES:
        rule = only([r for r in rules if r["EventPattern"] == spec.pattern()])
        target = only(rule["Targets"])
        target_queue_id, _ = queues[queue_name(synthesized, next(q for q in QUEUES if q.name == spec.target_queue))]

        assert rule["EventBusName"] == {"Ref": bus_id}
        assert target["Arn"] == {"Fn::GetAtt": [target_queue_id, "Arn"]}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [events_dlq_id, "Arn"]}}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


@pytest.mark.parametrize("spec", SCHEDULES, ids=lambda s: s.name)
def test_schedule_puts_its_message_on_its_queue_from_the_default_bus(synthesized: Synthesized,
                                                                      spec: ScheduleSpec) -> None:
    template = synthesized.template
    queues = queues_by_name(template)
    events_dlq_id, _ = queues[f"{synthesized.stack.stack_name.lower()}-events-dlq"]
    target_queue_id, _ = queues[queue_name(synthesized, queue(spec.target_queue))]
    rule = only([r for r in resources(template, "AWS::Events::Rule").values()
                 if r.get("ScheduleExpression") and only(r["Targets"])["Arn"]["Fn::GetAtt"][0] == target_queue_id])
    target = only(rule["Targets"])

    unit = "minute" if spec.rate_minutes == 1 else "minutes"
    assert rule["ScheduleExpression"] == f"rate({spec.rate_minutes} {unit})"
    assert "EventBusName" not in rule  # schedule expressions run on the default bus only
    assert json.loads(target["Input"]) == spec.message()
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [events_dlq_id, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_every_scheduled_rule_is_a_topology_schedule(template_dict: Template) -> None:
    scheduled = [r for r in resources(template_dict, "AWS::Events::Rule").values() if "ScheduleExpression" in r]
    assert len(scheduled) == len(SCHEDULES) > 0


# --- API ---------------------------------------------------------------------------------------------------


def test_http_api_routes_equal_the_topology_routes(template_dict: Template) -> None:
    functions = functions_by_name(template_dict)
    integrations = resources(template_dict, "AWS::ApiGatewayV2::Integration")
    routes = routes_of(template_dict, "HTTP")

    assert set(routes) == {f"{r.method} {r.path}" for r in ROUTES}
    for spec in ROUTES:
        integration_id = routes[f"{spec.method} {spec.path}"]["Target"]["Fn::Join"][1][1]["Ref"]
        function_id, _ = functions[spec.function]
        assert integrations[integration_id]["IntegrationUri"] == {"Fn::GetAtt": [function_id, "Arn"]}


def test_default_stage_is_throttled_and_access_logged(template_dict: Template) -> None:
    stage = only([s for s in resources(template_dict, "AWS::ApiGatewayV2::Stage").values()
                  if s["ApiId"] == {"Ref": api_id(template_dict, "HTTP")}])  # fmt: skip
    log_groups = resources(template_dict, "AWS::Logs::LogGroup")

    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": 2000,
        "ThrottlingRateLimit": 1000,
        "DetailedMetricsEnabled": True,  # route-level metrics for the per-route alarms
    }
    assert stage["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0] in log_groups
    assert json.loads(stage["AccessLogSettings"]["Format"])["requestId"] == "$context.requestId"
    assert "ApiUrl" in template_dict["Outputs"]


# --- least privilege ---------------------------------------------------------------------------------------


def test_webhook_can_only_get_and_put_items_and_send_to_the_inbound_queue(template_dict: Template) -> None:
    actions = actions_of(template_dict, "whatsapp_webhook")

    assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:GetItem", "dynamodb:PutItem"}
    assert "secretsmanager:GetSecretValue" in actions
    assert "s3:PutObject" in actions and "s3:GetObject" not in actions
    assert "events:PutEvents" not in actions


def secret_id(template: Template, name: str) -> str:
    return str(only([lid for lid, p in resources(template, "AWS::SecretsManager::Secret").items()
                     if p["Name"] == name]))  # fmt: skip


def secret_readers(template: Template) -> dict[str, list[Any]]:
    """function -> the resources of its GetSecretValue statements (which grant nothing else)."""
    readers: dict[str, list[Any]] = {}
    for name, (_, props) in functions_by_name(template).items():
        for statement in policy_statements(template, props["Role"]["Fn::GetAtt"][0]):
            if "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
                assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
                readers.setdefault(name, []).extend(as_list(statement["Resource"]))
    return readers


def test_channel_secrets_are_readable_only_under_the_prefix(synthesized: Synthesized) -> None:
    prefix = synthesized.stack.node.get_context("secret_prefix")
    channel_readers = set()
    for name, secrets in secret_readers(synthesized.template).items():
        for resource in secrets:
            if isinstance(resource, str) and f":secret:{prefix}/" in resource:
                assert resource.endswith(f":secret:{prefix}/*")
                channel_readers.add(name)
    # the API syncs and submits templates with the channel's token; the broadcast worker sends with it; the Telegram
    # webhook checks the secret token
    assert channel_readers == {"whatsapp_webhook", "telegram_webhook", "page_webhook", "sms_webhook", "outbound_sender",
                               "media_fetcher", "api", "broadcast_worker", "webchat_api", "ws_connect"}


def test_every_secret_read_is_one_the_function_uses(synthesized: Synthesized) -> None:
    context = synthesized.stack.node.get_context
    template = synthesized.template
    operator = {"Ref": secret_id(template, context("operator_secret_name"))}
    link = {"Ref": secret_id(template, Settings().bot_link_secret_name)}
    secret_arn = f"arn:aws:secretsmanager:{synthesized.stack.region}:{synthesized.stack.account}:secret:"
    channels = f"{secret_arn}{context('secret_prefix')}/*"

    assert secret_readers(template) == {
        "whatsapp_webhook": [channels],
        "telegram_webhook": [channels],  # the webhook's secret token
        "page_webhook": [channels],  # Messenger/Instagram: the app secret (HMAC) and verify token
        "sms_webhook": [channels],  # Twilio's Auth Token (X-Twilio-Signature)
        "outbound_sender": [channels],
        "media_fetcher": [channels],
        "authorizer": [operator],
        "api": [channels, link],  # templates at Meta (the channel's token); verifies the links bots sign
        "broadcast_worker": [channels],
        "webchat_api": [channels],  # the web chat channel's token key and identity secret
        "ws_connect": [channels],  # visitors' session tokens
        "bot_turn": [
            f"{secret_arn}{Settings().bot_secret_prefix}/*",  # tenants' integration secrets
            f"{secret_arn}{Settings().openai_secret_name}-??????",  # one secret, its random suffix only
            link,
        ],
        # HTTP steps' integration secrets; the link key derives the incoming-webhook URL tokens
        "workflows": [f"{secret_arn}{Settings().bot_secret_prefix}/*", link],
        "workflow_webhook": [link],
    }


# --- the bot engine ----------------------------------------------------------------------------------------


def bot_statements(template: Template) -> list[dict[str, Any]]:
    _, props = functions_by_name(template)["bot_turn"]
    return policy_statements(template, props["Role"]["Fn::GetAtt"][0])


def holders(template: Template, action: str) -> set[str]:
    return {name for name in functions_by_name(template) if action in actions_of(template, name)}


@pytest.mark.parametrize(
    "action",
    [
        "bedrock:InvokeModel",
        "transcribe:StartTranscriptionJob",
        "transcribe:GetTranscriptionJob",
        "ses:SendRawEmail",
        "sns:Publish",
    ],
)
def test_only_the_bot_turn_reaches_ai_and_email_and_sms(template_dict: Template, action: str) -> None:
    # workflows' send_email steps email through SES too
    assert holders(template_dict, action) == ({"bot_turn", "workflows"} if action == "ses:SendRawEmail"
                                              else {"bot_turn"})


def test_bot_turn_reaches_only_the_services_it_uses(template_dict: Template) -> None:
    actions = actions_of(template_dict, "bot_turn")
    services = {a.split(":")[0] for a in actions} - {"logs", "xray"}

    assert services == {"dynamodb", "sqs", "events", "s3", "secretsmanager", "bedrock", "transcribe", "ses", "sns"}
    # sessions, pending turns, logs and bindings (BatchGetItem); TransactWriteItems is authorized per item action
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem",
            "dynamodb:Query", "dynamodb:ConditionCheckItem"} <= actions  # fmt: skip
    assert not any(a.startswith("bedrock:") and a != "bedrock:InvokeModel" for a in actions)


def test_bot_turn_sends_to_the_outbound_queue_and_to_itself(synthesized: Synthesized) -> None:
    queues = queues_by_name(synthesized.template)
    queue_ids = {spec.name: queues[queue_name(synthesized, spec)][0] for spec in QUEUES}
    statements = bot_statements(synthesized.template)

    def queues_with(action: str) -> set[str]:
        return {r["Fn::GetAtt"][0] for s in statements if action in as_list(s["Action"])
                for r in as_list(s["Resource"])}  # fmt: skip

    assert queues_with("sqs:SendMessage") == {queue_ids["outbound"], queue_ids["bot-turn"]}  # replies, idle checks
    assert queues_with("sqs:ChangeMessageVisibility") == {queue_ids["bot-turn"]}  # coalescing and backoff


def test_bot_turn_objects_are_limited_to_its_prefixes(template_dict: Template) -> None:
    def prefixes(action: str) -> set[str]:
        return {
            resource["Fn::Join"][1][-1]
            for s in bot_statements(template_dict)
            if action in as_list(s["Action"])
            for resource in as_list(s["Resource"])
        }

    assert prefixes("s3:GetObject") == {"/media/*", "/bots/*", "/transcripts/*"}
    # generated PDFs; transcripts/ is written by Transcribe with the caller's permissions
    assert prefixes("s3:PutObject") == {"/bots/*", "/transcripts/*"}
    assert {a for a in actions_of(template_dict, "bot_turn") if a.startswith("s3:")} == {"s3:GetObject",
                                                                                          "s3:PutObject"}


def test_bot_turn_invokes_models_of_this_region_or_through_its_inference_profiles(synthesized: Synthesized) -> None:
    region, account = synthesized.stack.region, synthesized.stack.account
    profiles = f"arn:aws:bedrock:{region}:{account}:inference-profile/*"
    bedrock = [s for s in bot_statements(synthesized.template) if "bedrock:InvokeModel" in as_list(s["Action"])]

    direct = only([s for s in bedrock if "Condition" not in s])
    routed = only([s for s in bedrock if "Condition" in s])
    assert set(as_list(direct["Resource"])) == {f"arn:aws:bedrock:{region}::foundation-model/*", profiles}
    # a cross-region profile routes to the model in other regions: allowed only through a profile of this account
    assert as_list(routed["Resource"]) == ["arn:aws:bedrock:*::foundation-model/*"]
    assert routed["Condition"] == {"StringLike": {"bedrock:InferenceProfileArn": profiles}}
    assert all(as_list(s["Action"]) == ["bedrock:InvokeModel"] for s in bedrock)


def test_bot_turn_emails_only_from_identities_of_this_account(synthesized: Synthesized) -> None:
    ses = only([s for s in bot_statements(synthesized.template) if "ses:SendRawEmail" in as_list(s["Action"])])
    assert as_list(ses["Action"]) == ["ses:SendRawEmail"]
    assert as_list(ses["Resource"]) == [
        f"arn:aws:ses:{synthesized.stack.region}:{synthesized.stack.account}:identity/*"
    ]


def test_bot_turn_environment(synthesized: Synthesized) -> None:
    queues = queues_by_name(synthesized.template)
    queue_id, _ = queues[queue_name(synthesized, queue("bot-turn"))]
    _, props = functions_by_name(synthesized.template)["bot_turn"]
    env = props["Environment"]["Variables"]
    defaults = Settings()

    assert env["BOT_TURN_QUEUE_URL"] == {"Ref": queue_id}
    assert env["BOT_LINK_SECRET_NAME"] == defaults.bot_link_secret_name
    assert env["BOT_SECRET_PREFIX"] == defaults.bot_secret_prefix
    assert env["OPENAI_SECRET_NAME"] == defaults.openai_secret_name
    # cdk.json declares none of these, so Settings' defaults are deployed
    assert (env["LLM_MODEL_LITE"], env["LLM_MODEL_PRO"], env["LLM_VISION_MODEL"]) == (
        "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0", defaults.llm_vision_model)
    assert (props["MemorySize"], props["Timeout"]) == (1024, 60)


def test_link_key_is_a_generated_secret_kept_on_delete(synthesized: Synthesized) -> None:
    name = Settings().bot_link_secret_name
    secret = synthesized.template["Resources"][secret_id(synthesized.template, name)]

    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert secret["Properties"]["GenerateSecretString"]["ExcludePunctuation"] is True
    assert secret["DeletionPolicy"] == "Retain"
    assert synthesized.template["Outputs"]["BotLinkSecretName"]["Value"] == name
    readers = {fn for fn, secrets in secret_readers(synthesized.template).items()
               if {"Ref": secret_id(synthesized.template, name)} in secrets}  # fmt: skip
    assert readers == {"bot_turn", "api", "workflows", "workflow_webhook"}


def test_bot_turn_queue_retries_a_coalescing_record_up_to_30_times(synthesized: Synthesized) -> None:
    queues = queues_by_name(synthesized.template)
    _, bot_queue = queues[queue_name(synthesized, queue("bot-turn"))]

    assert "FifoQueue" not in bot_queue  # EventBridge feeds it: standard
    assert bot_queue["RedrivePolicy"]["maxReceiveCount"] == 30
    assert bot_queue["VisibilityTimeout"] == 360


def test_bot_turns_rule_feeds_messages_closed_conversations_and_flow_requests_to_the_bot_turn_queue(
    synthesized: Synthesized,
) -> None:
    queue_id, _ = queues_by_name(synthesized.template)[queue_name(synthesized, queue("bot-turn"))]
    rule = only([r for r in resources(synthesized.template, "AWS::Events::Rule").values()
                 if only(r["Targets"])["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}])  # fmt: skip

    assert rule["EventPattern"] == {"source": [EVENT_SOURCE],
                                    "detail-type": ["MessageReceived", "ConversationClosed", "BotFlowRequested"]}
    # the bot engine replaced the fixed auto-reply: no function, queue or rule of it is left
    assert not [q for q in queues_by_name(synthesized.template) if "auto-reply" in q]
    assert not [p for p in resources(synthesized.template, "AWS::Lambda::Function").values()
                if "auto_reply" in p["Handler"]]  # fmt: skip


def test_outbound_sender_can_change_message_visibility_on_the_outbound_queue(synthesized: Synthesized) -> None:
    outbound = next(q for q in QUEUES if q.name == "outbound")
    queue_id, _ = queues_by_name(synthesized.template)[queue_name(synthesized, outbound)]
    _, sender = functions_by_name(synthesized.template)["outbound_sender"]
    statements = policy_statements(synthesized.template, sender["Role"]["Fn::GetAtt"][0])

    assert any(
        "sqs:ChangeMessageVisibility" in as_list(s["Action"])
        and {"Fn::GetAtt": [queue_id, "Arn"]} in as_list(s["Resource"])
        for s in statements
    )


def test_event_publishers_may_put_events(template_dict: Template) -> None:
    publishers = {name for name, _ in functions_by_name(template_dict).items()
                  if "events:PutEvents" in actions_of(template_dict, name)}  # fmt: skip
    assert publishers == {"inbound_processor", "outbound_sender", "media_fetcher", "api", "jobs_worker", "bot_turn",
                          "router", "broadcast_worker", "workflows",
                          "usage_meter"}  # QuotaThresholdReached (once per threshold)


# --- observability -----------------------------------------------------------------------------------------


def alarms_on(template: Template, metric_name: str) -> list[dict[str, Any]]:
    return [a for a in resources(template, "AWS::CloudWatch::Alarm").values() if a.get("MetricName") == metric_name]


def test_every_dead_letter_queue_alarms_on_its_first_message(synthesized: Synthesized) -> None:
    queues = queues_by_name(synthesized.template)
    dlq_ids = {queues[queue_name(synthesized, spec, "-dlq")][0] for spec in QUEUES}
    dlq_ids.add(queues[f"{synthesized.stack.stack_name.lower()}-events-dlq"][0])
    alarms = alarms_on(synthesized.template, "ApproximateNumberOfMessagesVisible")

    alarmed = {only(a["Dimensions"])["Value"]["Fn::GetAtt"][0] for a in alarms}
    assert alarmed == dlq_ids
    for alarm in alarms:
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_every_queue_alarms_when_its_oldest_message_is_older_than_five_minutes(synthesized: Synthesized) -> None:
    queues = queues_by_name(synthesized.template)
    # the bot's own idle-timeout checks wait in its queue for up to the SQS maximum delay (15 minutes)
    self_delay = {"bot-turn": 900, "broadcasts": 900}  # and broadcast buckets waiting for their retries
    expected = {
        # five minutes, or twice the consumer's timeout when a healthy message may take longer (jobs: 300 s)
        queues[queue_name(synthesized, spec)][0]: max(300, 2 * function(spec.consumer).timeout_s)
        + self_delay.get(spec.name, 0)
        for spec in QUEUES
    }
    alarms = alarms_on(synthesized.template, "ApproximateAgeOfOldestMessage")

    assert {only(a["Dimensions"])["Value"]["Fn::GetAtt"][0]: a["Threshold"] for a in alarms} == expected
    for alarm in alarms:
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_api_5xx_and_send_failures_alarm(template_dict: Template) -> None:
    api_5xx = only(alarms_on(template_dict, "5xx"))
    send_failed = only(alarms_on(template_dict, "SendFailed"))

    assert api_5xx["Namespace"] == "AWS/ApiGateway"
    assert (api_5xx["Threshold"], api_5xx["Period"], api_5xx["Statistic"]) == (1, 300, "Sum")
    assert send_failed["Namespace"] == "Omnichannel"
    assert send_failed["Dimensions"] == [{"Name": "service", "Value": "outbound_sender"}]
    assert (send_failed["Threshold"], send_failed["Period"], send_failed["Statistic"]) == (5, 300, "Sum")


def test_every_alarm_notifies_the_alarm_topic(template_dict: Template) -> None:
    topic_id = only(k for k in resources(template_dict, "AWS::SNS::Topic") if k.startswith("ObservabilityAlarmTopic"))
    for alarm in resources(template_dict, "AWS::CloudWatch::Alarm").values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_dashboard_shows_the_business_metrics(template_dict: Template) -> None:
    dashboard = only(resources(template_dict, "AWS::CloudWatch::Dashboard"))
    body = json.dumps(dashboard["DashboardBody"])
    for metric in ("WebhookQuarantined", "MessagesStored", "DuplicateMessages", "SendFailed", "SendRefused"):
        assert metric in body


def test_dashboard_charts_the_bot_turns_and_handoffs(template_dict: Template) -> None:
    body = only(resources(template_dict, "AWS::CloudWatch::Dashboard"))["DashboardBody"]
    # a Fn::Join of JSON text and tokens (the region) that sit inside JSON strings
    widgets = json.loads("".join(p if isinstance(p, str) else "token" for p in body["Fn::Join"][1]))["widgets"]
    bots = only([w for w in widgets if w["properties"].get("title") == "Bots"])

    assert [m[:4] for m in bots["properties"]["metrics"]] == [  # what bot_turn emits, with its service dimension
        ["Omnichannel", "BotTurns", "service", "bot_turn"],
        ["Omnichannel", "BotSessionsEnded_handoff", "service", "bot_turn"],
    ]


def test_ses_stores_received_mail_and_notifies_the_email_queue(template_dict: Template) -> None:
    """The receipt rule: scan (verdicts), S3 action under inbound-email/ with the topic, the topic on the queue."""
    [rule] = resources(template_dict, "AWS::SES::ReceiptRule").values()
    props = rule["Rule"]
    assert props["ScanEnabled"] is True and props["Enabled"] is True
    [action] = props["Actions"]
    assert action["S3Action"]["ObjectKeyPrefix"] == "inbound-email/"
    topic = action["S3Action"]["TopicArn"]["Ref"]
    [subscription] = resources(template_dict, "AWS::SNS::Subscription").values()
    assert subscription["TopicArn"] == {"Ref": topic} and subscription["Protocol"] == "sqs"
    queues = resources(template_dict, "AWS::SQS::Queue")
    email_queue = next(k for k in queues if k.lower().startswith("messagingemail") and "dlq" not in k.lower())
    assert subscription["Endpoint"]["Fn::GetAtt"][0] == email_queue
