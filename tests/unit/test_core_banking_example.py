from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from examples.core_banking.api import CoreBankingApi

KEY = "demo-core-key"
MOUNT = "/local/core-banking"
CBU = "0110599520000012345678"


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def api(sleeps: Sleeps) -> CoreBankingApi:
    # Friday 2024-11-22: the next business days are Monday 25, Tuesday 26 and Wednesday 27
    return CoreBankingApi(api_key=KEY, sleep=sleeps, today=lambda: date(2024, 11, 22))


def call(api: CoreBankingApi, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
         ) -> tuple[int, Any]:
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    reply = api.handle(method, MOUNT + path, {"X-Api-Key": KEY, **(headers or {})}, raw)
    assert reply is not None
    status, reply_headers, payload = reply
    assert reply_headers["Content-Type"].startswith("application/json")
    return status, json.loads(payload)


def test_other_paths_are_not_handled(api: CoreBankingApi) -> None:
    assert api.handle("GET", "/local/graph/requests", {}, b"") is None
    assert api.handle("GET", "/local/core-bankingX/customers/1", {"X-Api-Key": KEY}, b"") is None


def test_api_key_is_required(api: CoreBankingApi) -> None:
    for headers in ({}, {"X-Api-Key": "wrong"}):
        reply = api.handle("GET", f"{MOUNT}/customers/30123456", headers, b"")
        assert reply is not None and reply[0] == 401
        assert json.loads(reply[2]) == {"error": "unauthorized"}
    reply = api.handle("GET", f"{MOUNT}/customers/30123456", {"x-api-key": KEY}, b"")  # any header case
    assert reply is not None and reply[0] == 200


def test_custom_mount() -> None:
    api = CoreBankingApi(api_key=KEY, mount="/banco/")
    reply = api.handle("GET", "/banco/customers/30123456", {"X-Api-Key": KEY}, b"")
    assert reply is not None and reply[0] == 200
    assert api.handle("GET", f"{MOUNT}/customers/30123456", {"X-Api-Key": KEY}, b"") is None


def test_customer_lookup(api: CoreBankingApi) -> None:
    assert call(api, "GET", "/customers/30123456") == (200, {
        "document": "30123456", "customer_number": "C-1001", "full_name": "Lucía Fernández", "segment": "premium",
        "zone": "palermo", "email": "lucia.fernandez@example.com"})
    assert call(api, "GET", "/customers/11111111") == (404, {"error": "not_found"})


def test_unknown_route_and_wrong_method(api: CoreBankingApi) -> None:
    assert call(api, "GET", "/nothing") == (404, {"error": "not_found"})
    assert call(api, "POST", "/customers/30123456", {}) == (405, {"error": "method_not_allowed"})


def test_failure_injection(api: CoreBankingApi, sleeps: Sleeps) -> None:
    assert call(api, "GET", "/customers/99999999") == (500, {"error": "internal_error"})
    status, body = call(api, "GET", "/customers/88888888")
    assert status == 200 and body["customer_number"] == "C-1888"
    assert sleeps.calls == [3.5] and sleeps.calls[0] > 3
    assert call(api, "GET", "/outages?zone=caida") == (503, {"error": "unavailable"})


def test_preapproved_credit(api: CoreBankingApi) -> None:
    assert call(api, "GET", "/credit/preapproved/C-1001") == (200, {
        "customer_number": "C-1001", "preapproved_limit": 1_500_000, "currency": "ARS"})
    assert call(api, "GET", "/credit/preapproved/C-9999") == (404, {"error": "not_found"})


def test_disbursement_and_limit(api: CoreBankingApi) -> None:
    status, body = call(api, "POST", "/disbursements", {"customer_number": "C-1002", "amount": 300000,
                                                        "account": CBU})
    assert status == 201
    assert body["status"] == "submitted" and body["amount"] == 300000 and body["account"] == CBU
    assert body["disbursement_id"].startswith("D-")
    assert call(api, "GET", "/credit/preapproved/C-1002")[1]["preapproved_limit"] == 50_000
    assert call(api, "POST", "/disbursements", {"customer_number": "C-1002", "amount": 60000, "account": CBU}) == (
        422, {"error": "amount_above_limit"})


@pytest.mark.parametrize(("body", "error"), [
    ({"customer_number": "C-1001", "amount": 2_000_000, "account": CBU}, "amount_above_limit"),
    ({"customer_number": "C-1001", "amount": 1000, "account": "123"}, "invalid_account"),
    ({"customer_number": "C-1001", "amount": 1000}, "invalid_account"),
    ({"customer_number": "C-1001", "amount": -5, "account": CBU}, "invalid_amount"),
    ({"customer_number": "C-1001", "amount": "1000", "account": CBU}, "invalid_amount"),
    ({"customer_number": "C-1003", "amount": 1000, "account": CBU}, "amount_above_limit"),
    ({"customer_number": "C-9", "amount": 1000, "account": CBU}, "unknown_customer"),
])
def test_disbursement_rejections(api: CoreBankingApi, body: dict[str, Any], error: str) -> None:
    assert call(api, "POST", "/disbursements", body) == (422, {"error": error})


def test_disbursement_is_idempotent_on_the_key(api: CoreBankingApi) -> None:
    body = {"customer_number": "C-1001", "amount": 100000, "account": CBU}
    first = call(api, "POST", "/disbursements", body, {"Idempotency-Key": "req-1"})
    again = call(api, "POST", "/disbursements", body, {"Idempotency-Key": "req-1"})
    assert first == again and first[0] == 201
    assert call(api, "GET", "/credit/preapproved/C-1001")[1]["preapproved_limit"] == 1_400_000
    assert call(api, "POST", "/disbursements", {**body, "amount": 5}, {"Idempotency-Key": "req-1"}) == (
        409, {"error": "idempotency_key_reused"})
    other = call(api, "POST", "/disbursements", body, {"Idempotency-Key": "req-2"})
    assert other[0] == 201 and other[1]["disbursement_id"] != first[1]["disbursement_id"]


def test_invalid_json(api: CoreBankingApi) -> None:
    assert call(api, "POST", "/disbursements", b"{not json") == (400, {"error": "invalid_json"})
    assert call(api, "POST", "/complaints", b"[1, 2]") == (400, {"error": "invalid_json"})


def test_debts(api: CoreBankingApi) -> None:
    status, body = call(api, "GET", "/debts/C-1003")
    assert status == 200
    assert body["customer_number"] == "C-1003" and body["total_due"] == 87450.30 and body["overdue_days"] == 45
    assert [(i["due_date"], i["status"]) for i in body["installments"]] == [
        ("2024-10-08", "overdue"), ("2024-11-07", "overdue"), ("2024-12-07", "due")]
    assert call(api, "GET", "/debts/C-1001") == (404, {"error": "not_found"})


def test_outages(api: CoreBankingApi) -> None:
    status, body = call(api, "GET", "/outages?zone=palermo")
    assert status == 200 and body["zone"] == "palermo"
    assert len(body["outages"]) == 1
    assert set(body["outages"][0]) == {"id", "description", "eta"}
    assert body["outages"][0]["eta"] == "2024-11-22T18:00:00-03:00"
    assert call(api, "GET", "/outages?zone=Belgrano") == (200, {"zone": "belgrano", "outages": []})
    assert call(api, "GET", "/outages") == (400, {"error": "zone_required"})


def test_complaint_slots_and_booking(api: CoreBankingApi) -> None:
    status, body = call(api, "POST", "/complaints", {"customer_number": "C-1001", "zone": "palermo",
                                                     "description": "Sin internet desde ayer"})
    assert status == 201
    complaint_id = body["complaint_id"]

    status, body = call(api, "GET", "/technician-slots?zone=palermo")
    assert status == 200
    slots = body["slots"]
    assert len(slots) >= 5
    assert slots[0] == {"id": "palermo-20241125-am", "start": "2024-11-25T09:00:00-03:00",
                        "label": "lun 25/11 09:00-12:00"}
    assert slots[-1]["label"] == "mié 27/11 14:00-17:00"
    for slot in slots:
        datetime.fromisoformat(slot["start"])

    status, body = call(api, "POST", "/bookings", {"complaint_id": complaint_id, "slot_id": slots[0]["id"]})
    assert status == 201 and body["slot_label"] == "lun 25/11 09:00-12:00" and body["booking_id"].startswith("B-")
    assert slots[0]["id"] not in [s["id"] for s in call(api, "GET", "/technician-slots?zone=palermo")[1]["slots"]]

    other = call(api, "POST", "/complaints", {"customer_number": "C-1004", "zone": "palermo", "description": "x"})
    assert call(api, "POST", "/bookings", {"complaint_id": other[1]["complaint_id"], "slot_id": slots[0]["id"]}) == (
        409, {"error": "slot_taken"})
    assert call(api, "POST", "/bookings", {"complaint_id": complaint_id, "slot_id": slots[1]["id"]}) == (
        409, {"error": "complaint_already_booked"})


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"complaint_id": "R-0", "slot_id": "palermo-20241125-am"}, 404, "complaint_not_found"),
    ({"complaint_id": "__complaint__", "slot_id": "palermo-20241130-am"}, 422, "invalid_slot"),
    ({"complaint_id": "__complaint__", "slot_id": "nope"}, 422, "invalid_slot"),
])
def test_booking_rejections(api: CoreBankingApi, body: dict[str, str], status: int, error: str) -> None:
    complaint = call(api, "POST", "/complaints", {"customer_number": "C-1001", "zone": "palermo",
                                                  "description": "Sin señal"})[1]["complaint_id"]
    body = {k: complaint if v == "__complaint__" else v for k, v in body.items()}
    assert call(api, "POST", "/bookings", body) == (status, {"error": error})


@pytest.mark.parametrize(("body", "error"), [
    ({"customer_number": "C-9", "zone": "palermo", "description": "x"}, "unknown_customer"),
    ({"customer_number": "C-1001", "zone": "", "description": "x"}, "invalid_zone"),
    ({"customer_number": "C-1001", "zone": "palermo", "description": "  "}, "description_required"),
])
def test_complaint_rejections(api: CoreBankingApi, body: dict[str, str], error: str) -> None:
    assert call(api, "POST", "/complaints", body) == (422, {"error": error})


def test_slots_need_a_zone(api: CoreBankingApi) -> None:
    assert call(api, "GET", "/technician-slots") == (400, {"error": "zone_required"})
