"""Create on moto server exactly what infra/topology.py describes (the CDK app reads the same manifest)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import boto3

from infra import topology
from shared.adapters.dynamodb import DynamoChannels
from shared.models.channel import Channel

REGION = "us-east-1"


@dataclass
class LocalResources:
    prefix: str
    table_name: str
    bus_name: str
    bucket: str
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    rule_targets: dict[str, str] = field(default_factory=dict)

    user_pool_id: str = ""
    user_pool_client_id: str = ""

    @property
    def scheduler_group(self) -> str:
        """The EventBridge Scheduler group of workflow waits (the CDK stack names it <stack>-workflows)."""
        return f"{self.prefix}-workflows"

    def env(self) -> dict[str, str]:
        """Environment for the handlers, as the CDK stack sets it."""
        env = {"TABLE_NAME": self.table_name, "BUS_NAME": self.bus_name, "MEDIA_BUCKET": self.bucket,
               "USER_POOL_ID": self.user_pool_id, "USER_POOL_CLIENT_ID": self.user_pool_client_id}
        for spec in topology.QUEUES:
            env[spec.env_var] = self.queue_urls[spec.name]
        # workflow waits: one-time schedules in moto's EventBridge Scheduler; the local stack fires them (moto
        # stores schedules but never runs them)
        env["WORKFLOWS_QUEUE_ARN"] = self.queue_arns["workflows"]
        env["WORKFLOW_SCHEDULER_GROUP"] = self.scheduler_group
        env["WORKFLOW_SCHEDULER_ROLE_ARN"] = f"arn:aws:iam::123456789012:role/{self.prefix}-workflow-scheduler"
        return env


def _queue_name(prefix: str, spec_name: str, fifo: bool, dlq: bool = False) -> str:
    name = f"{prefix}-{spec_name}{'-dlq' if dlq else ''}"
    return name + ".fifo" if fifo else name


def provision(prefix: str = "omnichannel", *, visibility_timeout_s: int | None = None) -> LocalResources:
    """Create table, bucket, bus, queues (+DLQs) and rules. `visibility_timeout_s` shortens retries locally."""
    res = LocalResources(prefix=prefix, table_name=f"{prefix}-table", bus_name=f"{prefix}-bus",
                         bucket=f"{prefix}-media")
    ddb = boto3.client("dynamodb", region_name=REGION)
    spec = topology.TABLE
    attrs = {spec.pk, spec.sk, *(g.pk for g in spec.gsis), *(g.sk for g in spec.gsis)}
    ddb.create_table(
        TableName=res.table_name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
        KeySchema=[{"AttributeName": spec.pk, "KeyType": "HASH"}, {"AttributeName": spec.sk, "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": g.name, "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": g.pk, "KeyType": "HASH"}, {"AttributeName": g.sk, "KeyType": "RANGE"}],
        } for g in spec.gsis],
    )
    ddb.update_time_to_live(TableName=res.table_name, TimeToLiveSpecification={
        "Enabled": True, "AttributeName": spec.ttl_attribute})
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=res.bucket)

    sqs = boto3.client("sqs", region_name=REGION)
    for q in topology.QUEUES:
        fifo_attrs = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if q.fifo else {}
        dlq_url = sqs.create_queue(QueueName=_queue_name(prefix, q.name, q.fifo, dlq=True),
                                   Attributes={**fifo_attrs, "MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=_queue_name(prefix, q.name, q.fifo), Attributes={
            **fifo_attrs,
            "VisibilityTimeout": str(visibility_timeout_s or q.visibility_timeout_s),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": q.max_receive_count}),
        })["QueueUrl"]
        res.queue_urls[q.name] = url
        res.dlq_urls[q.name] = dlq_url
        res.queue_arns[q.name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]
                                                          )["Attributes"]["QueueArn"]

    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name=res.bus_name)
    for rule in topology.RULES:
        events.put_rule(Name=f"{prefix}-{rule.name}", EventBusName=res.bus_name,
                        EventPattern=json.dumps(rule.pattern()), State="ENABLED")
        events.put_targets(Rule=f"{prefix}-{rule.name}", EventBusName=res.bus_name,
                           Targets=[{"Id": rule.target_queue, "Arn": res.queue_arns[rule.target_queue]}])
        res.rule_targets[rule.name] = rule.target_queue
    boto3.client("scheduler", region_name=REGION).create_schedule_group(Name=res.scheduler_group)
    res.user_pool_id, res.user_pool_client_id = _user_pool(prefix)
    return res


def _user_pool(prefix: str) -> tuple[str, str]:
    """The agents' user pool as infra/constructs/identity.py declares it (moto issues and verifies its JWTs)."""
    cognito = boto3.client("cognito-idp", region_name=REGION)
    pool = cognito.create_user_pool(
        PoolName=f"{prefix}-agents", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": True}])["UserPool"]
    for group in ("admin", "supervisor", "agent"):
        cognito.create_group(GroupName=group, UserPoolId=pool["Id"])
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName=f"{prefix}-console", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"],
        ReadAttributes=["email", "custom:tenant_id"], WriteAttributes=["email"])["UserPoolClient"]
    return str(pool["Id"]), str(client["ClientId"])


def describe(res: LocalResources) -> dict[str, Any]:
    """What the local stack runs, in the terms the parity test compares with the synthesized template."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    queues = {}
    for q in topology.QUEUES:
        attrs = sqs.get_queue_attributes(QueueUrl=res.queue_urls[q.name], AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"])
        queues[q.name] = {"fifo": attrs.get("FifoQueue") == "true",
                          "max_receive_count": int(redrive["maxReceiveCount"]),
                          "dlq_fifo": redrive["deadLetterTargetArn"].endswith(".fifo"), "consumer": q.consumer}
    rules = {}
    for rule in topology.RULES:
        described = events.describe_rule(Name=f"{res.prefix}-{rule.name}", EventBusName=res.bus_name)
        targets = events.list_targets_by_rule(Rule=f"{res.prefix}-{rule.name}", EventBusName=res.bus_name)["Targets"]
        target_queue = next(name for name, arn in res.queue_arns.items() if arn == targets[0]["Arn"])
        rules[rule.name] = {"pattern": json.loads(described["EventPattern"]), "target_queue": target_queue}
    from infra.local.websocket_gateway import route_functions

    return {"queues": queues, "rules": rules,
            "routes": sorted((r.method, r.path, r.function) for r in topology.ROUTES),
            "schedules": {name: {"rate_minutes": period_s // 60, "target_queue": queue, "input": json.loads(body)}
                          for name, (period_s, queue, body) in schedule_plan().items()},
            "websocket_routes": sorted(route_functions().items())}


def schedule_plan() -> dict[str, tuple[int, str, str]]:
    """What the local stack's timer threads send: name -> (period in seconds, target queue, message body)."""
    return {s.name: (s.rate_minutes * 60, s.target_queue, json.dumps(s.message())) for s in topology.SCHEDULES}


@dataclass(frozen=True)
class DemoChannel:
    tenant_id: str = "demo"
    channel_id: str = "demo-whatsapp"
    phone_number_id: str = "100000000000001"
    display_phone_number: str = "15550000001"
    waba_id: str = "200000000000001"
    app_secret: str = "local-app-secret"
    verify_token: str = "local-verify-token"
    access_token: str = "local-access-token"
    auto_reply_text: str = "¡Hola! Gracias por escribirnos. Recibimos tu mensaje y te responderemos en breve."


def _put_channel(res: LocalResources, channel: Channel, secret: dict[str, str]) -> Channel:
    """The channel's secret (as the platform API stores it), then the channel item."""
    _put_secret(channel.secret_name, json.dumps(secret))
    DynamoChannels(boto3.resource("dynamodb", region_name=REGION).Table(res.table_name)).put(channel)
    return channel


def seed_channel(res: LocalResources, demo: DemoChannel, *, secret_prefix: str = "omnichannel/channels") -> Channel:
    return _put_channel(res, Channel(
        tenant_id=demo.tenant_id, channel_id=demo.channel_id, phone_number_id=demo.phone_number_id,
        display_phone_number=demo.display_phone_number, waba_id=demo.waba_id,
        secret_name=f"{secret_prefix}/{demo.tenant_id}/{demo.channel_id}",
        auto_reply_text=demo.auto_reply_text or None),
        {"app_secret": demo.app_secret, "verify_token": demo.verify_token, "access_token": demo.access_token})


@dataclass(frozen=True)
class DemoTelegram:
    """A Telegram bot channel: `bot_token` as Telegram issues it (<bot id>:<secret>), the webhook's secret_token."""

    tenant_id: str = "demo"
    channel_id: str = "demo-telegram"
    bot_token: str = "7000000001:AAlocal-demo-telegram-bot-token"
    secret_token: str = "local-telegram-secret_token"
    handle: str = "demo_tienda_bot"


def seed_telegram_channel(res: LocalResources, demo: DemoTelegram, *,
                          secret_prefix: str = "omnichannel/channels") -> Channel:
    return _put_channel(res, Channel(
        tenant_id=demo.tenant_id, channel_id=demo.channel_id, kind="telegram",
        phone_number_id=demo.bot_token.split(":", 1)[0], handle=demo.handle or None,
        secret_name=f"{secret_prefix}/{demo.tenant_id}/{demo.channel_id}"),
        {"app_secret": demo.secret_token, "verify_token": demo.secret_token, "access_token": demo.bot_token})


@dataclass(frozen=True)
class DemoPage:
    """A Messenger Page (kind "messenger", account_id = the Page id) or an Instagram professional account (kind
    "instagram", account_id = its id), with the Page access token that sends and the app secret that signs."""

    tenant_id: str = "demo"
    channel_id: str = "demo-messenger"
    kind: Literal["messenger", "instagram"] = "messenger"
    account_id: str = "106195825075770"
    page_token: str = "EAAlocal-demo-page-token"
    app_secret: str = "local-demo-page-app-secret"
    verify_token: str = "local-demo-page-verify"
    name: str = "Demo Tienda"
    page_id: str = ""  # Instagram: the linked Facebook Page (whose token sends); Messenger: the account itself
    handle: str = "demotienda"  # the username in m.me / ig.me links

    @property
    def token_owner(self) -> dict[str, str]:
        """What GET /me answers for the token (the Graph emulator's `pages` entry)."""
        return {"id": self.page_id or self.account_id, "name": self.name}


DEMO_INSTAGRAM = DemoPage(channel_id="demo-instagram", kind="instagram", account_id="90010138419114",
                          page_token="EAAlocal-demo-instagram-page-token", page_id="106195825075771")


def seed_page_channel(res: LocalResources, demo: DemoPage, *, secret_prefix: str = "omnichannel/channels") -> Channel:
    return _put_channel(res, Channel(
        tenant_id=demo.tenant_id, channel_id=demo.channel_id, kind=demo.kind,
        phone_number_id=demo.account_id, display_phone_number=demo.name, handle=demo.handle or None,
        secret_name=f"{secret_prefix}/{demo.tenant_id}/{demo.channel_id}"),
        {"app_secret": demo.app_secret, "verify_token": demo.verify_token, "access_token": demo.page_token})


@dataclass(frozen=True)
class DemoSms:
    """A Twilio number (SMS/MMS): its Account SID, Auth Token (signs webhooks, authenticates sends) and number."""

    tenant_id: str = "demo"
    channel_id: str = "demo-sms"
    account_sid: str = "AC" + "0" * 31 + "1"
    auth_token: str = "local-twilio-auth-token-0001"
    number: str = "+15550100001"


def seed_sms_channel(res: LocalResources, demo: DemoSms, *, webhook_base: str,
                     secret_prefix: str = "omnichannel/channels") -> Channel:
    channel = Channel(tenant_id=demo.tenant_id, channel_id=demo.channel_id, kind="sms", phone_number_id=demo.number,
                      waba_id=demo.account_sid, display_phone_number=demo.number,
                      secret_name=f"{secret_prefix}/{demo.tenant_id}/{demo.channel_id}")
    channel = channel.model_copy(update={"callback_url": channel.webhook_url(webhook_base)})
    return _put_channel(res, channel, {"app_secret": demo.auth_token, "verify_token": demo.auth_token,
                                       "access_token": demo.auth_token})


@dataclass(frozen=True)
class DemoWebChat:
    """The demo site's web chat: the identity secret the site's server signs customer ids with."""

    tenant_id: str = "demo"
    channel_id: str = "demo-webchat"
    identity_secret: str = "local-webchat-identity-secret"
    token_key: str = "local-webchat-token-key"


def seed_webchat_channel(res: LocalResources, demo: DemoWebChat,
                         secret_prefix: str = "omnichannel/channels") -> Channel:
    from shared.models.channel import PrechatField, WebChatSettings

    settings = WebChatSettings(title="Tienda Demo", greeting="¡Hola! 👋 Soy el asistente de Tienda Demo. "
                               "¿En qué te ayudo?",
                               prechat_fields=(PrechatField(name="name", label="Nombre", required=True),
                                               PrechatField(name="email", label="Email")))
    channel = Channel(tenant_id=demo.tenant_id, channel_id=demo.channel_id, kind="webchat",
                      phone_number_id=demo.channel_id,
                      secret_name=f"{secret_prefix}/{demo.tenant_id}/{demo.channel_id}",
                      webchat=settings)
    return _put_channel(res, channel, {"app_secret": demo.identity_secret, "verify_token": demo.token_key,
                                       "access_token": "unused"})


@dataclass(frozen=True)
class DemoEmail:
    """The demo support address: mail to it is posted to /local/email/inbound, answers land in the outbox."""

    tenant_id: str = "demo"
    channel_id: str = "demo-email"
    address: str = "soporte@demo-tienda.test"
    display_name: str = "Soporte Tienda Demo"


def seed_email_channel(res: LocalResources, demo: DemoEmail, secret_prefix: str = "omnichannel/channels") -> Channel:
    from shared.models.channel import EmailSettings

    boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity=demo.address.split("@")[1])
    channel = Channel(tenant_id=demo.tenant_id, channel_id=demo.channel_id, kind="email",
                      phone_number_id=demo.address, display_phone_number=demo.address,
                      secret_name=f"{secret_prefix}/{demo.tenant_id}/{demo.channel_id}",
                      email=EmailSettings(display_name=demo.display_name))
    return _put_channel(res, channel, {"app_secret": "unused", "verify_token": "unused", "access_token": "unused"})


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str = "demo"
    name: str = "Demo Tienda"
    api_key: str = "local-demo-api-key"
    operator_key: str = "local-platform-key"
    max_contacts: int = 1000
    rate_limit_per_s: int = 50


def seed_tenant(res: LocalResources, demo: DemoTenant, *,
                operator_secret_name: str = "omnichannel/platform/operator-keys") -> None:
    """The demo tenant with its plan, its API key (stored hashed) and the platform operator key."""
    from datetime import UTC, datetime

    from shared.adapters.dynamodb_tenancy import DynamoTenancy
    from shared.models.tenancy import SCOPES, ApiKey, Plan, Tenant
    from shared.services.auth import key_hash

    store = DynamoTenancy(boto3.resource("dynamodb", region_name=REGION).Table(res.table_name))
    now = datetime.now(UTC)
    store.create_tenant(Tenant(tenant_id=demo.tenant_id, name=demo.name, created_at=now,
                               plan=Plan(name="demo", max_contacts=demo.max_contacts,
                                         rate_limit_per_s=demo.rate_limit_per_s)))
    if store.get_key(key_hash(demo.api_key)) is None:
        store.put_key(key_hash(demo.api_key), ApiKey(key_id="key_localdemo", tenant_id=demo.tenant_id,
                                                     name="local demo key", scopes=SCOPES, hint=demo.api_key[:7] + "…",
                                                     created_at=now))
    _put_secret(operator_secret_name, json.dumps([demo.operator_key]))


DEMO_BOT_FILE = "examples/bots/banco_demo.yaml"
CORE_BANKING_API_KEY = "demo-core-key"
LINK_SECRET_NAME = "omnichannel/platform/link-key"


def _put_secret(name: str, value: str) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    try:
        secrets.create_secret(Name=name, SecretString=value)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=name, SecretString=value)


def seed_platform_secrets() -> None:
    """The link-signing key (bots' self-service links) and the SES identities the demo bot sends from."""
    import secrets as random

    _put_secret(LINK_SECRET_NAME, random.token_urlsafe(32))
    _put_secret("omnichannel/platform/openai-key", "local-llm-key")  # the local LLM stand-in ignores it
    ses = boto3.client("ses", region_name=REGION)
    for identity in ("banco-demo.example", "omnichannel.example"):
        ses.verify_domain_identity(Domain=identity)


def seed_demo_bot(tenant_id: str, core_banking_url: str, *,
                  bot_file: str = DEMO_BOT_FILE, bot_secret_prefix: str = "omnichannel/bots") -> tuple[str, int]:
    """Upload and activate the Spanish demo bot for a tenant (as `POST /v1/bots` does), with the secret its
    integrations use."""
    from pathlib import Path

    from shared import wiring
    from shared.config import Settings
    from shared.services.bots import BotUpload

    _put_secret(f"{bot_secret_prefix}/{tenant_id}/core-banking",
                json.dumps({"base_url": core_banking_url, "api_key": CORE_BANKING_API_KEY}))
    source = (Path(__file__).resolve().parents[2] / bot_file).read_text(encoding="utf-8")
    version = wiring.bot_service(Settings.from_env()).upload(tenant_id, BotUpload(source=source), actor="seed")
    return version.bot_id, version.version


DEMO_PASSWORD = "Demo-Agente-2026!"


def seed_user(res: LocalResources, tenant_id: str, email: str, role: str, *, name: str | None = None,
              password: str = DEMO_PASSWORD) -> str:
    """A tenant user as `POST /v1/users` creates it (Cognito user + role group + the tenant's index), with a
    permanent password so it can sign in; returns the user id (the Cognito `sub`). Existing users are kept."""
    from shared import wiring
    from shared.config import Settings
    from shared.services.users import Actor, UserInvite

    service = wiring.user_service(Settings.from_env())
    existing = next((u for u in service.list_users(tenant_id) if u.email == email), None)
    if existing is None:
        existing = service.invite(tenant_id, UserInvite(email=email, role=role, name=name),  # type: ignore[arg-type]
                                  Actor("admin"))
    boto3.client("cognito-idp", region_name=REGION).admin_set_user_password(
        UserPoolId=res.user_pool_id, Username=email, Password=password, Permanent=True)
    return existing.user_id


def sign_in(res: LocalResources, email: str, password: str = DEMO_PASSWORD) -> str:
    """An ID token for a seeded user (what the console gets from Cognito): send it as `Authorization: Bearer`."""
    tokens = boto3.client("cognito-idp", region_name=REGION).admin_initiate_auth(
        UserPoolId=res.user_pool_id, ClientId=res.user_pool_client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password})["AuthenticationResult"]
    return str(tokens["IdToken"])


DEMO_AGENTS = (("ana@demo.local", "agent", "Ana"), ("bruno@demo.local", "agent", "Bruno"),
               ("sofia@demo.local", "supervisor", "Sofía"), ("admin@demo.local", "admin", "Adriana"))


def seed_contact_center(res: LocalResources, tenant_id: str) -> dict[str, str]:
    """Demo agents (Ana online, Bruno offline), a supervisor, and two campaigns the demo bot hands off to:
    `atencion` (the fallback) and `cobranzas` (skills: refinanciacion). Returns email -> user id."""
    import contextlib

    from shared import wiring
    from shared.config import Settings
    from shared.errors import Conflict
    from shared.models.contact_center import CampaignInput, Snippet, StatusInput

    users = {email: seed_user(res, tenant_id, email, role, name=name) for email, role, name in DEMO_AGENTS}
    agents = [users["ana@demo.local"], users["bruno@demo.local"]]
    center = wiring.contact_center_service(Settings.from_env())
    greeting = Snippet(key="saludo", title="Saludo", text="Hola {{contact.name}}, soy {{agent.name}}. ¿En qué te "
                                                          "puedo ayudar?")
    for campaign in (
        CampaignInput(campaign_id="atencion", name="Atención al cliente", skills=["atencion", "asesor", "reclamos"],
                      members=agents, fallback=True, max_per_agent=3, snippets=[greeting]),
        CampaignInput(campaign_id="cobranzas", name="Cobranzas", skills=["refinanciacion", "deudas"],
                      members=agents, max_per_agent=2, snippets=[greeting]),
    ):
        with contextlib.suppress(Conflict):  # already seeded
            center.create_campaign(tenant_id, campaign)
    center.set_status(tenant_id, users["ana@demo.local"], StatusInput(status="online"), by="seed")
    return users


# The demo WABA's approved templates for `make dev` (the Graph emulator serves them; POST
# /v1/channels/{id}/templates/sync reads them). Tests seed their own: once any template is registered, the
# emulator refuses template sends that match none, as Meta does.
DEMO_TEMPLATES: list[dict[str, object]] = [
    {"name": "codigo_verificacion", "language": "es", "category": "AUTHENTICATION", "status": "APPROVED",
     "components": [
         {"type": "BODY", "text": "*{{1}}* es tu código de verificación.", "example": {"body_text": [["123456"]]}},
         {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copiar código"}]}]},
    {"name": "recordatorio_pago", "language": "es", "category": "UTILITY", "status": "APPROVED",
     "components": [
         {"type": "HEADER", "format": "TEXT", "text": "Recordatorio de pago"},
         {"type": "BODY", "text": "Hola {{1}}, tu cuota de {{2}} vence el {{3}}. Podés pagarla desde la app o "
                                  "respondiendo este mensaje.",
          "example": {"body_text": [["Ana", "$ 25.000", "10/12"]]}},
         {"type": "FOOTER", "text": "Banco Demo"},
         {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Ya pagué"},
                                         {"type": "QUICK_REPLY", "text": "Hablar con un asesor"}]}]},
    {"name": "promo_prestamo", "language": "es", "category": "MARKETING", "status": "APPROVED",
     "components": [
         {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvanBn:demo"]}},
         {"type": "BODY", "text": "{{1}}, tenés un préstamo preaprobado de hasta {{2}} con tasa preferencial. "
                                  "Respondé SÍ y te contamos.",
          "example": {"body_text": [["Ana", "$ 500.000"]]}},
         {"type": "FOOTER", "text": "Respondé BAJA para no recibir más promociones"},
         {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Ver oferta",
                                          "url": "https://banco.example/oferta/{{1}}", "example": ["ABC123"]}]}]},
]
