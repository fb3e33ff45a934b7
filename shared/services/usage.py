"""Usage as the platforms we replace sell it (sessions), and what Meta charges beside it, from the domain events.

**Sessions.** A session lasts from a customer's first message until the bot solves it, an agent (or anyone)
closes the conversation, or the customer stops answering (the bot's idle timeout, or `idle` without any message
on a conversation nobody closes). The next message after that starts a new session, so a customer who writes
three times in one day and is answered and closed each time makes three sessions. A session belongs to the month
(UTC) it started in and to its channel. Its kind is known only as it goes: `bot` once a bot session ended in it,
`ai_<tier>` once the generative assistant answered in it (LITE or PRO model tier); a session neither touched is
`no_bot` (people only). Each flag counts once per session.

**Meta.** WhatsApp status webhooks carry a `pricing` block (on `sent` and on one of delivered/read): the
category, the pricing model (PMP since 2025-07-01) and whether it is billable (`type: regular`). Each provider
message is priced once, with the versioned rate card of the day (`shared.services.rate_card`) for the
recipient's market; service messages (user-initiated) and free types cost nothing. Beside it the older
conversation-based model (CBP) is computed for comparison: a 24-hour window per contact and category opens at
the first message of that category delivered after the previous window closed, so one customer writing three
times in a day is three sessions but one service window.

Counting is incremental and exactly once: every change is one conditional write of the per-contact state (or a
marker per provider message) together with the counter additions it causes (the adapter's transaction), so a
redelivered or reordered event adds nothing twice. Events that arrive late are placed by their own timestamps:
a message sent before its contact's session ended belongs to that session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from shared.errors import NotYetKnown
from shared.models.actors import closed_by_kind
from shared.services.rate_card import RateCard, RateCardError
from shared.timestamps import instant

PRICED_CATEGORIES = frozenset({"marketing", "utility", "authentication"})
# message types that are not the customer contacting us (no session starts or continues with them)
NOT_CONTACT_TYPES = frozenset({"reaction", "system", "unsupported", "unknown", "deleted", "ephemeral", "order_status"})
CBP_WINDOW = timedelta(hours=24)
ATTEMPTS = 4
MICROS = Decimal(1_000_000)


@dataclass(frozen=True)
class SessionMark:
    """The contact's current (or last) session on one channel."""

    session_id: str
    channel_id: str
    contact_key: str
    started_at: datetime
    last_at: datetime
    conversation_id: str | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None  # bot | agent | system | timeout | idle | superseded
    bot: bool = False
    ai_tier: str | None = None
    version: int = 0

    @property
    def month(self) -> str:
        """YYYY-MM (UTC) of started_at: the month the session is counted in."""
        return month_of(self.started_at)


@dataclass(frozen=True)
class Add:
    """Counter additions for one month (UTC, YYYY-MM) and channel."""

    month: str
    channel_id: str
    counters: Mapping[str, int]


@dataclass(frozen=True)
class Pricing:
    """One provider message Meta priced: counted once, and its contact's CBP window of the category."""

    provider_message_id: str
    channel_id: str
    contact_key: str
    category: str
    at: datetime


class UsageStore(Protocol):
    def session(self, tenant_id: str, channel_id: str, contact_key: str) -> SessionMark | None: ...

    def save_session(self, tenant_id: str, mark: SessionMark, *, expected_version: int | None,
                     adds: Sequence[Add] = ()) -> bool:
        """Put `mark` if the stored one still has `expected_version` (None: there is none) and apply `adds` to
        the counters, in one transaction; False when the condition failed."""
        ...

    def cbp_window(self, tenant_id: str, channel_id: str, contact_key: str, category: str) -> datetime | None:
        """When the contact's current 24-hour window of this category opened (None: never)."""
        ...

    def price_once(self, tenant_id: str, priced: Pricing, *, add: Add,
                   window: tuple[datetime | None, datetime] | None) -> bool | None:
        """Mark the provider message as priced (once), move the CBP window from window[0] to window[1] (when
        given, conditionally) and add the counters, in one transaction. True: counted; False: already counted;
        None: the window moved meanwhile (read it again)."""
        ...

    def month(self, tenant_id: str, month: str) -> dict[str, dict[str, int]]:
        """The month's counters per channel id."""
        ...


class SessionQuota(Protocol):
    """The plan's monthly sessions (shared.services.quotas.QuotaService): never a refusal, only alerts and overage."""

    def session_limit(self, tenant_id: str) -> int | None: ...

    def sessions_counted(self, tenant_id: str, month: str) -> None: ...


def month_of(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m")


class UsageMeter:
    def __init__(self, store: UsageStore, *, rate_card: RateCard | None = None,
                 idle: timedelta = timedelta(hours=24), now: Callable[[], datetime] | None = None,
                 quotas: SessionQuota | None = None) -> None:
        self._store = store
        self._quotas = quotas
        self._rates = rate_card or RateCard.load()
        self._idle = idle
        self._now = now or (lambda: datetime.now(UTC))  # for a status without its own timestamp

    # -- events -----------------------------------------------------------------------------------------------
    def on_event(self, detail_type: str, detail: Mapping[str, Any]) -> str:
        """Count one domain event; what it did (for logs and tests)."""
        tenant_id = str(detail.get("tenant_id") or "")
        if not tenant_id:
            return "ignored"
        for _ in range(ATTEMPTS):
            if detail_type == "MessageReceived":
                outcome = self._message(tenant_id, detail)
            elif detail_type == "BotSessionEnded":
                outcome = self._bot_ended(tenant_id, detail)
            elif detail_type == "ConversationClosed":
                outcome = self._closed(tenant_id, detail)
            elif detail_type == "MessageStatusChanged":
                outcome = self._status(tenant_id, detail)
            else:
                return "ignored"
            if outcome is not None:
                if detail_type == "MessageReceived" and outcome in ("started", "duplicate") and self._quotas:
                    # after the count's transaction, never inside it: a redelivery ("duplicate") checks again, so
                    # an alert whose publish failed is retried with the record
                    self._quotas.sessions_counted(tenant_id, month_of(instant(detail.get("sent_at")) or self._now()))
                return outcome
        raise NotYetKnown("usage state kept changing under this event", delay_s=1)

    def _message(self, tenant_id: str, d: Mapping[str, Any]) -> str | None:
        channel_id, contact_key = str(d.get("channel_id") or ""), str(d.get("contact_key") or "")
        at = instant(d.get("sent_at"))
        if not channel_id or not contact_key or at is None or d.get("message_type") in NOT_CONTACT_TYPES:
            return "ignored"
        mark = self._store.session(tenant_id, channel_id, contact_key)
        session_id = "us_" + hashlib.sha256(f"{tenant_id}#{channel_id}#{contact_key}#{d.get('message_id')}"
                                            .encode()).hexdigest()[:20]
        conversation_id = d.get("conversation_id")
        ended_by: str | None = None  # how the previous session ends, when this message starts a new one
        if mark is not None:
            if mark.session_id == session_id:
                return "duplicate"
            same = conversation_id is not None and conversation_id == mark.conversation_id
            if at < mark.started_at and not (same and mark.ended_at is None):
                return "earlier"  # an older session's message, delivered late: already counted there
            if mark.ended_at is not None:
                # after a close the customer writes in a new conversation; the closed one's messages (provider
                # timestamps have whole seconds) and those sent before a bot's end belong to the ended session
                if same and (mark.end_reason in ("agent", "system") or at <= mark.ended_at):
                    return "earlier"
            elif not same and mark.conversation_id is not None:
                ended_by = "superseded"  # its conversation closed, and the close has not been counted yet
            elif at - mark.last_at >= self._idle:
                ended_by = "idle"
            else:
                if at <= mark.last_at and mark.conversation_id:
                    return "continued"
                updated = replace(mark, last_at=max(at, mark.last_at), version=mark.version + 1,
                                  conversation_id=mark.conversation_id or conversation_id)
                return "continued" if self._store.save_session(tenant_id, updated,
                                                               expected_version=mark.version) else None
        new = SessionMark(session_id=session_id, channel_id=channel_id, contact_key=contact_key, started_at=at,
                          last_at=at, conversation_id=conversation_id,
                          version=(mark.version + 1) if mark else 0)
        adds = [Add(new.month, channel_id, {"sessions": 1})]
        if mark is not None and ended_by:
            # the previous one went quiet for longer than `idle` and nobody closed it (or its close is still on
            # its way): it ends here, counted in its own month
            adds.append(Add(mark.month, channel_id, {f"ended_{ended_by}": 1}))
        if not self._store.save_session(tenant_id, new, expected_version=mark.version if mark else None,
                                        adds=adds):
            return None
        return "started"

    def _current(self, tenant_id: str, d: Mapping[str, Any]) -> SessionMark | None:
        channel_id, contact_key = str(d.get("channel_id") or ""), str(d.get("contact_key") or "")
        if not channel_id or not contact_key:
            return None
        return self._store.session(tenant_id, channel_id, contact_key)

    def _bot_ended(self, tenant_id: str, d: Mapping[str, Any]) -> str | None:
        mark = self._current(tenant_id, d)
        ended_at = instant(d.get("ended_at"))
        if mark is None or ended_at is None or ended_at < mark.started_at or \
                (mark.conversation_id and d.get("conversation_id") and
                 mark.conversation_id != d.get("conversation_id")):
            return "no_session"  # none, or the contact's next session already started (a very late event)
        add: dict[str, int] = {}
        bot, tier = mark.bot, mark.ai_tier
        if not bot:
            bot, add["sessions_bot"] = True, 1
        if int(d.get("ai_turns") or 0) > 0 and tier is None:
            tier = str(d.get("llm_tier") or "LITE").upper()
            add[f"sessions_ai_{tier}"] = 1
        reason = str(d.get("reason") or "")
        end: dict[str, Any] = {}
        if mark.ended_at is None and reason in ("solved", "timeout"):
            end = {"ended_at": ended_at, "end_reason": "bot" if reason == "solved" else "timeout"}
            add[f"ended_{end['end_reason']}"] = 1
        if not add:
            return "unchanged"
        updated = replace(mark, bot=bot, ai_tier=tier, version=mark.version + 1, **end)
        return "bot_session" if self._store.save_session(tenant_id, updated, expected_version=mark.version,
                                                         adds=[Add(mark.month, mark.channel_id, add)]) else None

    def _closed(self, tenant_id: str, d: Mapping[str, Any]) -> str | None:
        mark = self._current(tenant_id, d)
        closed_at = instant(d.get("closed_at"))
        if mark is None or closed_at is None or mark.ended_at is not None or closed_at < mark.started_at:
            return "no_session"
        if mark.conversation_id and d.get("conversation_id") and mark.conversation_id != d.get("conversation_id"):
            return "no_session"  # another conversation of the contact (the session moved on)
        reason = closed_by_kind(str(d.get("closed_by") or ""))
        updated = replace(mark, ended_at=closed_at, end_reason=reason, version=mark.version + 1)
        return "ended" if self._store.save_session(tenant_id, updated, expected_version=mark.version,
                                                   adds=[Add(mark.month, mark.channel_id,
                                                             {f"ended_{reason}": 1})]) else None

    def _status(self, tenant_id: str, d: Mapping[str, Any]) -> str | None:
        category = str(d.get("pricing_category") or "").lower()
        provider_id = d.get("provider_message_id")
        if not category or not provider_id:
            return "unpriced"
        at = instant(d.get("at")) or self._now()
        pricing_type = d.get("pricing_type")
        billable = pricing_type == "regular" if pricing_type else bool(d.get("billable"))
        contact_key = str(d.get("contact_key") or "")
        market: str | None = None
        cost = 0
        if contact_key:
            try:
                market = self._rates.market_of(contact_key)
                if billable and category in PRICED_CATEGORIES:
                    cost = int(self._rates.price(at.date(), market, category.upper()) * MICROS)
            except RateCardError:
                market = None
        priced = Pricing(provider_message_id=str(provider_id), channel_id=str(d.get("channel_id") or ""),
                         contact_key=contact_key, category=category, at=at)
        add = {f"meta_messages#{category}": 1, f"meta_{'user' if category == 'service' else 'business'}": 1}
        if billable:
            add[f"meta_billable#{category}"] = 1
        if cost:
            add[f"meta_cost_micros#{category}"] = cost
        if market:
            add[f"meta_market#{market}#{category}"] = 1
        window: tuple[datetime | None, datetime] | None = None
        if contact_key:
            opened = self._store.cbp_window(tenant_id, priced.channel_id, contact_key, category)
            if opened is None or at >= opened + CBP_WINDOW:
                window = (opened, at)
                add[f"cbp_windows#{category}"] = 1
        done = self._store.price_once(tenant_id, priced, add=Add(month_of(at), priced.channel_id, add),
                                      window=window)
        if done is None:
            return None
        return "priced" if done else "duplicate"

    # -- reading ----------------------------------------------------------------------------------------------
    def monthly(self, tenant_id: str, month: str) -> dict[str, Any]:
        """The month's usage: sessions by channel, kind and end, Meta's messages, cost and CBP windows."""
        per_channel = self._store.month(tenant_id, month)
        total: dict[str, int] = {}
        for counters in per_channel.values():
            for key, value in counters.items():
                total[key] = total.get(key, 0) + value
        first = date.fromisoformat(f"{month}-01")
        limit = self._quotas.session_limit(tenant_id) if self._quotas is not None else None
        return {
            "month": month, "session_idle_hours": self._idle.total_seconds() / 3600,
            "sessions": _sessions(total),
            # overage against the plan in force now (shared.services.quotas): exact, as the session count is
            "max_sessions_per_month": limit,
            "sessions_over_plan": max(0, total.get("sessions", 0) - limit) if limit else 0,
            "sessions_by_channel": {channel: _sessions(c) for channel, c in sorted(per_channel.items())},
            "meta": _meta(total, self._rates, first),
            "meta_by_channel": {channel: _meta(c, self._rates, first) for channel, c in sorted(per_channel.items())
                                if any(k.startswith("meta_") for k in c)},
        }


def _sessions(c: Mapping[str, int]) -> dict[str, Any]:
    total, bots = c.get("sessions", 0), c.get("sessions_bot", 0)
    ai = {k.removeprefix("sessions_ai_"): v for k, v in sorted(c.items()) if k.startswith("sessions_ai_")}
    return {"total": total, "no_bot": total - bots, "bot_only": bots - sum(ai.values()), "ai": ai,
            "ended": {k.removeprefix("ended_"): v for k, v in sorted(c.items()) if k.startswith("ended_")},
            "not_ended": total - sum(v for k, v in c.items() if k.startswith("ended_"))}


def _meta(c: Mapping[str, int], rates: RateCard, first: date) -> dict[str, Any]:
    def by(prefix: str) -> dict[str, int]:
        return {k.removeprefix(prefix): v for k, v in sorted(c.items()) if k.startswith(prefix)}

    cost = {k: f"{Decimal(v) / MICROS:.4f}" for k, v in by("meta_cost_micros#").items()}
    markets: dict[str, dict[str, int]] = {}
    for key, value in by("meta_market#").items():
        market, category = key.split("#", 1)
        markets.setdefault(market, {})[category] = value
    try:
        card = rates.version_for(first).effective_from.isoformat()
    except RateCardError:
        card = None
    return {"messages": by("meta_messages#"), "billable": by("meta_billable#"), "cost_usd": cost,
            "total_cost_usd": f"{Decimal(sum(by('meta_cost_micros#').values())) / MICROS:.4f}",
            "user_initiated": c.get("meta_user", 0), "business_initiated": c.get("meta_business", 0),
            "by_market": markets, "cbp_windows": by("cbp_windows#"),
            "cbp_windows_total": sum(by("cbp_windows#").values()), "rate_card_effective_from": card}
