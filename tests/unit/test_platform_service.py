"""PlatformService: tenants, plans, channels (secret first) and API keys (hash only), over in-memory fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr

from shared.errors import Conflict, InvalidInput, NotFound, Unauthorized
from shared.models.crm import ContactInput
from shared.models.tenancy import Plan
from shared.ports import ProviderSendError
from shared.services.auth import Authenticator, key_hash
from shared.services.contacts import ContactService
from shared.services.platform import (
    ChannelInput,
    KeyInput,
    PageChannelInput,
    PlatformService,
    SmsChannelInput,
    SuspendInput,
    TelegramChannelInput,
    TenantInput,
)
from tests.unit.fakes_crm import (
    T0,
    FakeClock,
    FakeOperators,
    InMemoryChannels,
    InMemoryContactStore,
    InMemoryTenancy,
    RecordingPublisher,
    RecordingSecrets,
)

BASE = "https://api.example.com"
APP_SECRET = "app-secret-123"
TOKEN = "EAAG-access-token"


BOT_TOKEN = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


class FakeBotApi:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, object]]] = []
        self.refuse: str | None = None

    def call(self, token: str, method: str, params: dict[str, object]) -> object:
        self.calls.append((token, method, params))
        if self.refuse:
            raise ProviderSendError(http_status=401, code=401, title=self.refuse, details=method)
        return True


class FakePages:
    """GET /me answers the token's Page; subscriptions are recorded."""

    def __init__(self) -> None:
        self.owners = {"EAAG-page-token": "200000000000001"}
        self.subscribed: list[tuple[str, str, list[str]]] = []
        self.down = False

    def page_identity(self, access_token: str) -> dict[str, object]:
        if self.down or access_token not in self.owners:
            raise ProviderSendError(http_status=401, code=190, title="Invalid OAuth access token", details=None)
        return {"id": self.owners[access_token], "name": "Acme Page"}

    def subscribe_page(self, page_id: str, access_token: str, fields: list[str]) -> None:
        self.subscribed.append((page_id, access_token, fields))


class FakeTwilio:
    def __init__(self) -> None:
        self.accounts = {"AC" + "1" * 32: "twilio-auth-token-1234"}

    def check_account(self, account_sid: str, auth_token: str) -> dict[str, object]:
        if self.accounts.get(account_sid) != auth_token:
            raise ProviderSendError(http_status=401, code=20003, title="Authenticate", details=None)
        return {"sid": account_sid, "status": "active"}


class Env:
    def __init__(self) -> None:
        self.clock = FakeClock(step=timedelta(seconds=1))
        self.journal: list[str] = []
        self.contacts = InMemoryContactStore()
        self.tenancy = InMemoryTenancy(self.contacts)
        self.channels = InMemoryChannels(self.journal)
        self.secrets = RecordingSecrets(self.journal)
        self.bot_api = FakeBotApi()
        self.pages = FakePages()
        self.svc = PlatformService(tenants=self.tenancy, channels=self.channels, secrets_=self.secrets,
                                   clock=self.clock, secret_prefix="omni/channels/", telegram=self.bot_api,
                                   pages=self.pages, twilio=FakeTwilio())

    def authenticator(self) -> Authenticator:
        return Authenticator(keys=self.tenancy, tenants=self.tenancy, operators=FakeOperators(), clock=self.clock)

    def onboard(self, tenant_id: str = "acme", **plan: int) -> None:
        self.svc.create_tenant(TenantInput(tenant_id=tenant_id, name=tenant_id.title(), plan=Plan(**plan)))


@pytest.fixture
def env() -> Env:
    e = Env()
    e.onboard("acme")
    e.onboard("globex")
    return e


def channel_input(**overrides: object) -> ChannelInput:
    data: dict[str, object] = {"phone_number_id": "100000000000001", "app_secret": APP_SECRET,
                               "access_token": TOKEN, **overrides}
    return ChannelInput.model_validate(data)


# --- tenants --------------------------------------------------------------------------------------------

def test_a_created_tenant_is_active_with_its_plan(env: Env) -> None:
    tenant = env.svc.create_tenant(TenantInput(tenant_id="initech", name="Initech", plan=Plan(max_contacts=50)))

    assert env.svc.get_tenant("initech") == tenant
    assert (tenant.status, tenant.plan.max_contacts) == ("active", 50)
    assert "initech" in [t.tenant_id for t in env.svc.list_tenants()]


def test_creating_an_existing_tenant_is_a_conflict_and_keeps_the_original(env: Env) -> None:
    with pytest.raises(Conflict):
        env.svc.create_tenant(TenantInput(tenant_id="acme", name="Impostor"))

    assert env.svc.get_tenant("acme").name == "Acme"


def test_a_tenant_is_suspended_with_a_reason_and_activated_again(env: Env) -> None:
    suspended = env.svc.set_status("acme", "suspended", SuspendInput(reason="unpaid invoice").reason)
    assert (suspended.status, suspended.suspended_reason) == ("suspended", "unpaid invoice")

    active = env.svc.set_status("acme", "active")

    assert (active.status, active.suspended_reason) == ("active", None)
    assert env.svc.get_tenant("acme").status == "active"


def test_a_suspended_tenants_keys_stop_working_and_work_again_after_activation(env: Env) -> None:
    raw = env.svc.issue_key("acme", KeyInput(name="crm")).key
    env.svc.set_status("acme", "suspended", "unpaid")

    with pytest.raises(Unauthorized):
        env.authenticator().authenticate({"X-Api-Key": raw}, "/v1/contacts")
    env.svc.set_status("acme", "active")
    assert env.authenticator().authenticate({"X-Api-Key": raw}, "/v1/contacts").tenant_id == "acme"


def test_changing_an_unknown_tenant_is_not_found(env: Env) -> None:
    with pytest.raises(NotFound):
        env.svc.set_status("ghost", "suspended", "x")
    with pytest.raises(NotFound):
        env.svc.set_plan("ghost", Plan())
    with pytest.raises(NotFound):
        env.svc.get_tenant("ghost")


def test_a_plan_change_is_stored_and_shown_in_usage(env: Env) -> None:
    events = RecordingPublisher()
    contacts = ContactService(store=env.contacts, tenants=env.tenancy, events=events, clock=env.clock)
    contacts.create("acme", ContactInput(name="Ana"), actor="api")

    env.svc.set_plan("acme", Plan(name="growth", max_contacts=5000, rate_limit_per_s=50))

    assert env.svc.get_tenant("acme").plan == Plan(name="growth", max_contacts=5000, rate_limit_per_s=50)
    assert env.svc.usage("acme") == {"contacts": 1, "max_contacts": 5000}
    assert env.svc.usage("globex") == {"contacts": 0, "max_contacts": 1000}


# --- channels -------------------------------------------------------------------------------------------

def test_a_telegram_bot_is_checked_registered_with_a_secret_token_and_stored(env: Env) -> None:
    connected = env.svc.connect_telegram("acme", TelegramChannelInput(channel_id="acme-tg",
                                                                      bot_token=SecretStr(BOT_TOKEN)), base_url=BASE)
    channel = connected.channel
    assert (channel.kind, channel.phone_number_id) == ("telegram", "7000000001")
    assert connected.webhook_url == f"{BASE}/webhooks/telegram/acme-tg"
    [(_, me, _), (token, method, params)] = env.bot_api.calls
    assert me == "getMe" and (token, method) == (BOT_TOKEN, "setWebhook")
    assert params["url"] == connected.webhook_url and params["secret_token"] == connected.verify_token
    assert "callback_query" in params["allowed_updates"]  # type: ignore[operator]
    assert env.secrets.secrets["omni/channels/acme/acme-tg"] == {
        "app_secret": connected.verify_token, "verify_token": connected.verify_token, "access_token": BOT_TOKEN}
    assert env.journal == ["secret:omni/channels/acme/acme-tg", "channel:acme-tg"]
    assert BOT_TOKEN not in channel.model_dump_json()


def test_a_messenger_page_is_checked_subscribed_and_stored_secret_first(env: Env) -> None:
    data = PageChannelInput(channel_id="acme-fb", account_id="200000000000001",
                            page_access_token=SecretStr("EAAG-page-token"), app_secret=SecretStr(APP_SECRET))
    connected = env.svc.connect_page("acme", "messenger", data, base_url=BASE)
    channel = connected.channel
    assert (channel.kind, channel.phone_number_id, channel.display_phone_number) == (
        "messenger", "200000000000001", "Acme Page")
    assert connected.webhook_url == f"{BASE}/webhooks/messenger/acme-fb"
    [(page_id, token, fields)] = env.pages.subscribed
    assert (page_id, token) == ("200000000000001", "EAAG-page-token")
    assert {"messages", "messaging_postbacks", "message_deliveries", "message_reads"} <= set(fields)
    assert env.secrets.secrets["omni/channels/acme/acme-fb"] == {
        "app_secret": APP_SECRET, "access_token": "EAAG-page-token", "verify_token": connected.verify_token}
    assert env.journal == ["secret:omni/channels/acme/acme-fb", "channel:acme-fb"]
    assert "EAAG-page-token" not in channel.model_dump_json()


def test_an_instagram_account_is_checked_against_its_linked_page(env: Env) -> None:
    data = PageChannelInput(account_id="17841400000000001", page_id="200000000000001",
                            page_access_token=SecretStr("EAAG-page-token"), app_secret=SecretStr(APP_SECRET))
    connected = env.svc.connect_page("acme", "instagram", data, base_url=BASE)
    assert (connected.channel.kind, connected.channel.phone_number_id) == ("instagram", "17841400000000001")
    assert connected.webhook_url.startswith(f"{BASE}/webhooks/instagram/acme-ig-")


def test_a_page_token_of_another_page_or_a_refused_one_stores_nothing(env: Env) -> None:
    other = PageChannelInput(account_id="200000000000009", page_access_token=SecretStr("EAAG-page-token"),
                             app_secret=SecretStr(APP_SECRET))
    with pytest.raises(InvalidInput, match="belongs to '200000000000001'"):
        env.svc.connect_page("acme", "messenger", other, base_url=BASE)
    env.pages.down = True
    with pytest.raises(InvalidInput, match="Invalid OAuth access token"):
        env.svc.connect_page("acme", "messenger", other.model_copy(update={"account_id": "200000000000001"}),
                             base_url=BASE)
    with pytest.raises(InvalidInput, match="page_id is the account_id"):
        env.svc.connect_page("acme", "messenger", other.model_copy(update={"page_id": "200000000000001"}),
                             base_url=BASE)
    assert env.journal == [] and env.secrets.secrets == {} and env.pages.subscribed == []


def test_a_twilio_number_is_checked_and_stored_with_its_status_callback(env: Env) -> None:
    data = SmsChannelInput(channel_id="acme-sms", account_sid="AC" + "1" * 32,
                           auth_token=SecretStr("twilio-auth-token-1234"), number="+15550100077")
    connected = env.svc.connect_sms("acme", data, base_url=BASE)
    channel = connected.channel
    assert (channel.kind, channel.phone_number_id, channel.waba_id) == ("sms", "+15550100077", "AC" + "1" * 32)
    assert connected.webhook_url == f"{BASE}/webhooks/sms/acme-sms" == channel.callback_url
    assert env.journal == ["secret:omni/channels/acme/acme-sms", "channel:acme-sms"]
    with pytest.raises(InvalidInput, match="Authenticate"):
        env.svc.connect_sms("acme", data.model_copy(update={"channel_id": "other",
                                                             "auth_token": SecretStr("wrong-token-123456")}),
                            base_url=BASE)
    assert len(env.journal) == 2


def test_a_refused_or_malformed_telegram_token_stores_nothing(env: Env) -> None:
    env.bot_api.refuse = "Unauthorized"
    with pytest.raises(InvalidInput, match="Unauthorized"):
        env.svc.connect_telegram("acme", TelegramChannelInput(bot_token=SecretStr(BOT_TOKEN)), base_url=BASE)
    env.bot_api.refuse = None
    for bad in ("not-a-token", "12:short", "7000000001:has spaces in the secret part!!"):
        with pytest.raises(InvalidInput, match="bot_token"):
            env.svc.connect_telegram("acme", TelegramChannelInput(bot_token=SecretStr(bad)), base_url=BASE)
    with pytest.raises(InvalidInput, match="secret_token"):
        env.svc.connect_telegram("acme", TelegramChannelInput(bot_token=SecretStr(BOT_TOKEN),
                                                              secret_token=SecretStr("con espacios")), base_url=BASE)
    assert env.journal == [] and env.secrets.secrets == {}
    # without registering the webhook, the token is still checked
    connected = env.svc.connect_telegram("acme", TelegramChannelInput(
        bot_token=SecretStr(BOT_TOKEN), secret_token=SecretStr("mine_1"), register_webhook=False), base_url=BASE)
    assert connected.verify_token == "mine_1" and [m for _, m, _ in env.bot_api.calls][-1] == "getMe"


def test_connecting_a_channel_writes_the_secret_before_the_channel(env: Env) -> None:
    connected = env.svc.connect_channel("acme", channel_input(channel_id="acme-main"), base_url=BASE)

    assert env.journal == ["secret:omni/channels/acme/acme-main", "channel:acme-main"]
    assert connected.channel.secret_name == "omni/channels/acme/acme-main"
    assert env.channels.channels["acme-main"] == connected.channel


def test_a_connected_channel_gets_its_webhook_url_and_a_generated_verify_token(env: Env) -> None:
    connected = env.svc.connect_channel("acme", channel_input(channel_id="acme-main"), base_url=BASE)
    secret = env.secrets.secrets["omni/channels/acme/acme-main"]

    assert connected.webhook_url == f"{BASE}/webhooks/whatsapp/acme-main"
    assert len(connected.verify_token) >= 24
    assert secret == {"app_secret": APP_SECRET, "access_token": TOKEN, "verify_token": connected.verify_token}
    assert env.secrets.tags["omni/channels/acme/acme-main"] == {"tenant_id": "acme", "channel_id": "acme-main"}
    other = env.svc.connect_channel("acme", channel_input(channel_id="acme-second"), base_url=BASE)
    assert other.verify_token != connected.verify_token


def test_a_given_verify_token_is_used_and_secrets_stay_out_of_the_channel_item(env: Env) -> None:
    connected = env.svc.connect_channel("acme", channel_input(verify_token=SecretStr("my-verify-token")),
                                        base_url=BASE)
    item = connected.channel.model_dump_json()

    assert connected.verify_token == "my-verify-token"
    assert connected.channel.channel_id.startswith("acme-wa-000001-")
    assert connected.webhook_url == f"{BASE}/webhooks/whatsapp/{connected.channel.channel_id}"
    for secret in (APP_SECRET, TOKEN, "my-verify-token"):
        assert secret not in item
    assert env.svc.list_channels("acme") == [connected.channel]
    assert env.svc.list_channels("globex") == []


def test_connecting_a_channel_for_an_unknown_tenant_writes_nothing(env: Env) -> None:
    with pytest.raises(NotFound):
        env.svc.connect_channel("ghost", channel_input(), base_url=BASE)

    assert env.journal == []


def test_a_taken_channel_id_is_a_conflict(env: Env) -> None:
    env.svc.connect_channel("acme", channel_input(channel_id="shared-id"), base_url=BASE)

    with pytest.raises(Conflict):
        env.svc.connect_channel("globex", channel_input(channel_id="shared-id"), base_url=BASE)

    assert env.channels.channels["shared-id"].tenant_id == "acme"


def test_a_refused_reconnect_leaves_the_live_channels_secret_alone(env: Env) -> None:
    env.svc.connect_channel("acme", channel_input(channel_id="acme-main"), base_url=BASE)
    live = dict(env.secrets.secrets["omni/channels/acme/acme-main"])

    with pytest.raises(Conflict):
        env.svc.connect_channel("acme", channel_input(channel_id="acme-main", app_secret="other-secret-456"),
                                base_url=BASE)

    assert env.secrets.secrets["omni/channels/acme/acme-main"] == live


# --- API keys -------------------------------------------------------------------------------------------

def test_an_issued_key_is_shown_once_and_only_its_sha256_is_stored(env: Env) -> None:
    issued = env.svc.issue_key("acme", KeyInput(name="crm sync", scopes=["contacts:read", "contacts:read"]))

    assert issued.key.startswith("ok_")
    assert list(env.tenancy.keys) == [key_hash(issued.key)]
    stored_hash = next(iter(env.tenancy.keys))
    assert stored_hash != issued.key
    assert len(stored_hash) == 64
    stored = env.tenancy.keys[stored_hash]
    assert issued.key not in stored.model_dump_json()
    assert issued.key not in issued.api_key.model_dump_json()
    assert (stored.tenant_id, stored.name, stored.scopes) == ("acme", "crm sync", ("contacts:read",))


def test_the_authenticator_accepts_an_issued_key_for_its_tenant(env: Env) -> None:
    issued = env.svc.issue_key("acme", KeyInput(name="crm", scopes=["messages:send"]))

    principal = env.authenticator().authenticate({"Authorization": f"Bearer {issued.key}"}, "/v1/messages")

    assert (principal.tenant_id, principal.scopes) == ("acme", ("messages:send",))
    assert principal.principal_id == f"key:{issued.api_key.key_id}"


def test_two_issued_keys_differ(env: Env) -> None:
    first = env.svc.issue_key("acme", KeyInput(name="a"))
    second = env.svc.issue_key("acme", KeyInput(name="b"))

    assert first.key != second.key
    assert first.api_key.key_id != second.api_key.key_id
    assert [k.name for k in env.svc.list_keys("acme")] == ["a", "b"]


def test_issuing_a_key_for_an_unknown_tenant_is_not_found(env: Env) -> None:
    with pytest.raises(NotFound):
        env.svc.issue_key("ghost", KeyInput(name="x"))
    assert env.tenancy.keys == {}


def test_a_revoked_key_stops_authenticating(env: Env) -> None:
    issued = env.svc.issue_key("acme", KeyInput(name="crm"))

    revoked = env.svc.revoke_key("acme", issued.api_key.key_id)

    assert revoked.revoked_at is not None and revoked.revoked_at >= T0
    with pytest.raises(Unauthorized):
        env.authenticator().authenticate({"X-Api-Key": issued.key}, "/v1/contacts")


def test_revoking_another_tenants_key_is_not_found_and_the_key_keeps_working(env: Env) -> None:
    issued = env.svc.issue_key("globex", KeyInput(name="theirs"))

    with pytest.raises(NotFound):
        env.svc.revoke_key("acme", issued.api_key.key_id)

    assert env.tenancy.keys[key_hash(issued.key)].revoked_at is None
    assert env.authenticator().authenticate({"X-Api-Key": issued.key}, "/v1/contacts").tenant_id == "globex"
