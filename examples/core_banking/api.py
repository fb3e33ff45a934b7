"""A sample core-banking HTTP API for the Spanish demo bot: in-memory data, standard library only.

This is EXAMPLE code, not part of the product: it plays the business's systems that bot integrations call.
`CoreBankingApi.handle` answers requests under a mount prefix (default "/local/core-banking") and returns
None for any other path, so it can be mounted inside the local HTTP gateway next to the Graph emulator, or
run alone with `python -m examples.core_banking --port 8088 --api-key demo-core-key`.

Every request needs the header `X-Api-Key: <the key given at construction>` (401 otherwise). The `path`
passed to `handle` may include the query string (pass the raw request target): the outages and
technician-slot endpoints read `?zone=`.

Endpoints (JSON; errors are {"error": "<code>"}):
    GET  /customers/{document}                  customer system: the customer, or 404 not_found
    GET  /credit/preapproved/{customer_number}  credit system: {customer_number, preapproved_limit, currency}
    POST /disbursements                         payments system: {customer_number, amount, account} -> 201
                                                {disbursement_id, status: "submitted", amount, account};
                                                422 amount_above_limit | invalid_amount | invalid_account |
                                                unknown_customer. An `Idempotency-Key` header replays the first
                                                answer for the same body (409 idempotency_key_reused otherwise).
    GET  /debts/{customer_number}               collections: {customer_number, total_due, overdue_days,
                                                installments}, 404 not_found when there is no debt
    GET  /outages?zone=palermo                  network operations: {zone, outages: [{id, description, eta}]}
    POST /complaints                            {customer_number, zone, description} -> 201 {complaint_id}
    GET  /technician-slots?zone=palermo         {zone, slots: [{id, start, label}]}: the next three business
                                                days, morning and afternoon (six slots, taken ones left out)
    POST /bookings                              {complaint_id, slot_id} -> 201 {booking_id, slot_label};
                                                409 slot_taken

Seed customers (Argentine DNIs):
    30123456  C-1001  Lucía Fernández     zone palermo (a current outage), preapproved ARS 1.500.000
    27456789  C-1002  Martín Gómez        zone belgrano (no outages), preapproved ARS 350.000
    32987654  C-1003  Sofía Rodríguez     zone caballito, has overdue debts, no preapproved credit
    25111222  C-1004  Jorge Pérez         zone palermo, preapproved ARS 800.000
    35222333  C-1005  Valentina Núñez     zone villa-crespo, preapproved ARS 200.000

Failure injection (for integration tests):
    document 99999999  GET /customers/99999999 answers 500 {"error": "internal_error"}
    document 88888888  GET /customers/88888888 sleeps `slow_delay_s` (3.5 s by default: longer than 3 s) and
                       then answers a customer (C-1888), to exercise integration timeouts
    zone "caida"       GET /outages?zone=caida answers 503 {"error": "unavailable"}
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, dict[str, str], bytes]

DEFAULT_MOUNT = "/local/core-banking"
ART = timezone(timedelta(hours=-3), "ART")
FAILING_DOCUMENT = "99999999"
SLOW_DOCUMENT = "88888888"
FAILING_ZONE = "caida"

_DAYS = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
_WINDOWS = (("am", 9, 12), ("pm", 14, 17))
_ZONE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_CBU = re.compile(r"^\d{22}$")
_SLOT_ID = re.compile(r"^(?P<zone>[a-z0-9][a-z0-9-]{0,39})-(?P<day>\d{8})-(?P<window>am|pm)$")


def _json(status: int, body: Any) -> Reply:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body, ensure_ascii=False).encode()


def _error(status: int, code: str) -> Reply:
    return _json(status, {"error": code})


def _today_in_buenos_aires() -> date:
    return datetime.now(ART).date()


@dataclass
class Customer:
    document: str
    customer_number: str
    full_name: str
    segment: str
    zone: str
    email: str
    preapproved_limit: int | float = 0

    def public(self) -> dict[str, Any]:
        return {"document": self.document, "customer_number": self.customer_number, "full_name": self.full_name,
                "segment": self.segment, "zone": self.zone, "email": self.email}


def _seed_customers() -> list[Customer]:
    return [
        Customer("30123456", "C-1001", "Lucía Fernández", "premium", "palermo", "lucia.fernandez@example.com",
                 1_500_000),
        Customer("27456789", "C-1002", "Martín Gómez", "masivo", "belgrano", "martin.gomez@example.com", 350_000),
        Customer("32987654", "C-1003", "Sofía Rodríguez", "pyme", "caballito", "sofia.rodriguez@example.com", 0),
        Customer("25111222", "C-1004", "Jorge Pérez", "masivo", "palermo", "jorge.perez@example.com", 800_000),
        Customer("35222333", "C-1005", "Valentina Núñez", "joven", "villa-crespo", "valentina.nunez@example.com",
                 200_000),
        Customer(SLOW_DOCUMENT, "C-1888", "Ramiro Demora", "masivo", "belgrano", "ramiro.demora@example.com",
                 100_000),
    ]


def _seed_debts() -> dict[str, dict[str, Any]]:
    """Debts by customer number; installment due dates are days relative to today ("due_in_days")."""
    return {"C-1003": {
        "customer_number": "C-1003", "total_due": 87450.30, "currency": "ARS",
        "installments": [
            {"number": 4, "due_in_days": -45, "amount": 29150.10},
            {"number": 5, "due_in_days": -15, "amount": 29150.10},
            {"number": 6, "due_in_days": 15, "amount": 29150.10},
        ]}}


def _seed_outages() -> dict[str, list[dict[str, Any]]]:
    """Current outages by zone; the estimated fix is today at `eta_time` (Buenos Aires time)."""
    return {"palermo": [{"id": "INC-2041", "description": "Corte de fibra óptica en Av. Santa Fe al 3800; "
                                                         "sin servicio de internet en la zona.",
                         "eta_time": "18:00"}]}


@dataclass
class CoreBankingApi:
    """The sample API. `handle` is thread-safe; state lives in memory for the life of the object."""

    api_key: str
    mount: str = DEFAULT_MOUNT
    slow_delay_s: float = 3.5
    sleep: Callable[[float], None] = time.sleep
    today: Callable[[], date] = _today_in_buenos_aires
    customers: dict[str, Customer] = field(default_factory=dict)
    debts: dict[str, dict[str, Any]] = field(default_factory=_seed_debts)
    outages: dict[str, list[dict[str, Any]]] = field(default_factory=_seed_outages)
    disbursements: dict[str, dict[str, Any]] = field(default_factory=dict)
    complaints: dict[str, dict[str, Any]] = field(default_factory=dict)
    bookings: dict[str, dict[str, Any]] = field(default_factory=dict)  # slot_id -> booking
    _idempotency: dict[str, tuple[str, Reply]] = field(default_factory=dict)
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("an api key is required")
        self.mount = "/" + self.mount.strip("/")
        if not self.customers:
            self.customers = {c.document: c for c in _seed_customers()}

    # -- routing -------------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        parts = urlsplit(path)
        if parts.path != self.mount and not parts.path.startswith(self.mount + "/"):
            return None
        lowered = {k.lower(): v for k, v in headers.items()}
        if not hmac.compare_digest(lowered.get("x-api-key", "").encode(), self.api_key.encode()):
            return _error(401, "unauthorized")
        route = parts.path[len(self.mount):].rstrip("/").split("/")[1:]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        method = method.upper()

        if len(route) == 2 and route[0] == "customers":
            return self._allow(method, "GET") or self._customer(route[1])
        if len(route) == 3 and route[:2] == ["credit", "preapproved"]:
            return self._allow(method, "GET") or self._preapproved(route[2])
        if route == ["disbursements"]:
            return self._allow(method, "POST") or self._with_json(body, lambda data: self._disburse(
                data, lowered.get("idempotency-key")))
        if len(route) == 2 and route[0] == "debts":
            return self._allow(method, "GET") or self._debts(route[1])
        if route == ["outages"]:
            return self._allow(method, "GET") or self._outages(query.get("zone"))
        if route == ["complaints"]:
            return self._allow(method, "POST") or self._with_json(body, self._complaint)
        if route == ["technician-slots"]:
            return self._allow(method, "GET") or self._slots_reply(query.get("zone"))
        if route == ["bookings"]:
            return self._allow(method, "POST") or self._with_json(body, self._book)
        return _error(404, "not_found")

    @staticmethod
    def _allow(method: str, expected: str) -> Reply | None:
        return None if method == expected else _error(405, "method_not_allowed")

    @staticmethod
    def _with_json(body: bytes, handler: Callable[[dict[str, Any]], Reply]) -> Reply:
        try:
            data = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return _error(400, "invalid_json")
        if not isinstance(data, dict):
            return _error(400, "invalid_json")
        return handler(data)

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{prefix}-{100000 + self._counter}"

    def _by_number(self, customer_number: str) -> Customer | None:
        return next((c for c in self.customers.values() if c.customer_number == customer_number), None)

    # -- customer system -----------------------------------------------------------------------------------
    def _customer(self, document: str) -> Reply:
        if document == FAILING_DOCUMENT:
            return _error(500, "internal_error")
        if document == SLOW_DOCUMENT:
            self.sleep(self.slow_delay_s)
        customer = self.customers.get(document)
        return _json(200, customer.public()) if customer else _error(404, "not_found")

    # -- credit and payments -------------------------------------------------------------------------------
    def _preapproved(self, customer_number: str) -> Reply:
        customer = self._by_number(customer_number)
        if customer is None:
            return _error(404, "not_found")
        return _json(200, {"customer_number": customer.customer_number,
                           "preapproved_limit": customer.preapproved_limit, "currency": "ARS"})

    def _disburse(self, data: dict[str, Any], idempotency_key: str | None) -> Reply:
        fingerprint = json.dumps(data, sort_keys=True)
        with self._lock:
            if idempotency_key and idempotency_key in self._idempotency:
                previous_fingerprint, previous = self._idempotency[idempotency_key]
                return previous if previous_fingerprint == fingerprint else _error(409, "idempotency_key_reused")
            reply = self._disburse_locked(data)
            if idempotency_key:
                self._idempotency[idempotency_key] = (fingerprint, reply)
            return reply

    def _disburse_locked(self, data: dict[str, Any]) -> Reply:
        customer = self._by_number(str(data.get("customer_number", "")))
        if customer is None:
            return _error(422, "unknown_customer")
        amount = data.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
            return _error(422, "invalid_amount")
        account = data.get("account")
        if not isinstance(account, str) or not _CBU.match(account):
            return _error(422, "invalid_account")
        if amount > customer.preapproved_limit:
            return _error(422, "amount_above_limit")
        remaining = customer.preapproved_limit - amount
        customer.preapproved_limit = int(remaining) if float(remaining).is_integer() else round(remaining, 2)
        self._counter += 1
        disbursement_id = f"D-{100000 + self._counter}"
        record = {"disbursement_id": disbursement_id, "status": "submitted", "amount": amount,
                  "account": account, "customer_number": customer.customer_number}
        self.disbursements[disbursement_id] = record
        return _json(201, {k: record[k] for k in ("disbursement_id", "status", "amount", "account")})

    # -- collections ---------------------------------------------------------------------------------------
    def _debts(self, customer_number: str) -> Reply:
        debt = self.debts.get(customer_number)
        if not debt:
            return _error(404, "not_found")
        today = self.today()
        installments = []
        for item in debt["installments"]:
            due = today + timedelta(days=int(item["due_in_days"]))
            installments.append({"number": item["number"], "due_date": due.isoformat(), "amount": item["amount"],
                                 "status": "overdue" if due < today else "due"})
        overdue = [today - date.fromisoformat(i["due_date"]) for i in installments if i["status"] == "overdue"]
        return _json(200, {"customer_number": debt["customer_number"], "total_due": debt["total_due"],
                           "currency": debt["currency"], "overdue_days": max((d.days for d in overdue), default=0),
                           "installments": installments})

    # -- network operations --------------------------------------------------------------------------------
    def _outages(self, zone: str | None) -> Reply:
        zone = (zone or "").strip().lower()
        if not zone:
            return _error(400, "zone_required")
        if zone == FAILING_ZONE:
            return _error(503, "unavailable")
        today = self.today()
        return _json(200, {"zone": zone, "outages": [
            {"id": o["id"], "description": o["description"], "eta": f"{today.isoformat()}T{o['eta_time']}:00-03:00"}
            for o in self.outages.get(zone, [])]})

    def _complaint(self, data: dict[str, Any]) -> Reply:
        customer_number, zone, description = (data.get(k) for k in ("customer_number", "zone", "description"))
        if not isinstance(customer_number, str) or self._by_number(customer_number) is None:
            return _error(422, "unknown_customer")
        if not isinstance(zone, str) or not _ZONE.match(zone.strip().lower()):
            return _error(422, "invalid_zone")
        if not isinstance(description, str) or not description.strip():
            return _error(422, "description_required")
        complaint_id = self._next_id("R")
        with self._lock:
            self.complaints[complaint_id] = {"complaint_id": complaint_id, "customer_number": customer_number,
                                             "zone": zone.strip().lower(), "description": description.strip()}
        return _json(201, {"complaint_id": complaint_id})

    def slots(self, zone: str) -> list[dict[str, str]]:
        """Every slot offered for `zone` (taken ones included): next three business days, two windows each."""
        offered: list[dict[str, str]] = []
        day = self.today()
        while len(offered) < 6:
            day += timedelta(days=1)
            if day.weekday() >= 5:
                continue
            for window, start_hour, end_hour in _WINDOWS:
                start = datetime(day.year, day.month, day.day, start_hour, tzinfo=ART)
                offered.append({
                    "id": f"{zone}-{day:%Y%m%d}-{window}",
                    "start": start.isoformat(),
                    "label": f"{_DAYS[day.weekday()]} {day:%d/%m} {start_hour:02d}:00-{end_hour:02d}:00"})
        return offered

    def _slots_reply(self, zone: str | None) -> Reply:
        zone = (zone or "").strip().lower()
        if not zone:
            return _error(400, "zone_required")
        if not _ZONE.match(zone):
            return _error(422, "invalid_zone")
        with self._lock:
            free = [slot for slot in self.slots(zone) if slot["id"] not in self.bookings]
        return _json(200, {"zone": zone, "slots": free})

    def _book(self, data: dict[str, Any]) -> Reply:
        complaint_id, slot_id = data.get("complaint_id"), data.get("slot_id")
        if not isinstance(complaint_id, str) or complaint_id not in self.complaints:
            return _error(404, "complaint_not_found")
        match = _SLOT_ID.match(slot_id) if isinstance(slot_id, str) else None
        slot = next((s for s in self.slots(match["zone"]) if s["id"] == slot_id), None) if match else None
        if slot is None:
            return _error(422, "invalid_slot")
        with self._lock:
            if slot_id in self.bookings:
                return _error(409, "slot_taken")
            if any(b["complaint_id"] == complaint_id for b in self.bookings.values()):
                return _error(409, "complaint_already_booked")
            self._counter += 1
            booking = {"booking_id": f"B-{100000 + self._counter}", "slot_label": slot["label"],
                       "complaint_id": complaint_id, "slot_id": slot["id"], "start": slot["start"]}
            self.bookings[slot["id"]] = booking
        return _json(201, {"booking_id": booking["booking_id"], "slot_label": booking["slot_label"]})
