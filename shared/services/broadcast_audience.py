"""Who a broadcast may reach, and with which variables: pure rules over contacts and uploaded-list rows.

- Marketing templates need the contact's marketing opt-in (CRM consent, per purpose); utility and
  authentication templates go to everyone who has not opted out of utility messages. A marketing opt-out
  (including a STOP/BAJA reply) always excludes from marketing.
- A recipient is addressed by WhatsApp id (digits): the contact's WhatsApp identity, else its first phone.
- Variables: a literal, or a field read from the list row (by column name) and then the contact (built-in
  attributes, then custom fields), else the default; a required variable with no value excludes the
  recipient with a reason naming the slot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.models.broadcasts import VariableSource
from shared.models.crm import Contact
from shared.models.templates import MessageTemplate
from shared.services.jobs import fold as header_fold
from shared.services.phone import InvalidPhone, normalize_phone
from shared.services.template_params import TemplateParamError, build_components, variables_of
from shared.services.text_norm import fold as text_fold

BUILTIN_FIELDS = ("name", "first_name", "phone", "email", "language", "lifecycle", "contact_id")


@dataclass(frozen=True)
class Candidate:
    contact: Contact | None
    row: Mapping[str, str] = field(default_factory=dict)
    phone: str | None = None  # a list row's phone or WhatsApp id, as written


@dataclass(frozen=True)
class Eligible:
    to: str
    contact_key: str
    contact_id: str | None
    params: dict[str, Any]


@dataclass(frozen=True)
class Excluded:
    reason: str
    to: str | None
    contact_id: str | None
    detail: str | None = None


def purpose_of(category: str) -> str:
    return "marketing" if category.upper() == "MARKETING" else "utility"


def bucket_of(to: str, buckets: int) -> int:
    """Recipients are spread over `buckets` partitions by a hash of their address (stable across runs)."""
    return int(hashlib.sha256(to.encode()).hexdigest()[:8], 16) % max(buckets, 1)


def address_of(candidate: Candidate, default_country: str | None) -> tuple[str, str] | str:
    """(wa_id, contact_key) or an exclusion reason."""
    contact = candidate.contact
    if contact is not None:
        wa = contact.identity_values("whatsapp")
        if wa:
            bsuid = contact.identity_values("whatsapp_bsuid")
            return wa[0], bsuid[0] if bsuid else wa[0]
    raw = candidate.phone or (contact.phones[0] if contact is not None and contact.phones else None)
    if not raw:
        return "no_whatsapp"
    try:
        return (e164 := normalize_phone(raw, default_country=default_country))[1:], e164[1:]
    except InvalidPhone:
        return "invalid_phone"


def consent_reason(contact: Contact | None, purpose: str) -> str | None:
    """Why consent excludes this contact for the purpose, or None."""
    marketing = contact.consent.get("marketing") if contact is not None else None
    if purpose == "marketing":
        if marketing is not None and marketing.status == "opted_out":
            return "opted_out"
        if marketing is None or marketing.status != "opted_in":
            return "no_opt_in"
        return None
    utility = contact.consent.get("utility") if contact is not None else None
    if utility is not None and utility.status == "opted_out":
        return "opted_out"
    return None


def field_value(candidate: Candidate, name: str) -> Any:
    wanted = header_fold(name)
    for column, value in candidate.row.items():
        if header_fold(column) == wanted and str(value).strip():
            return str(value).strip()
    contact = candidate.contact
    if contact is None:
        return None
    if name in ("name", "first_name"):
        if not contact.name:
            return None
        return contact.name.split()[0] if name == "first_name" else contact.name
    if name == "phone":
        return contact.phones[0] if contact.phones else None
    if name == "email":
        return contact.emails[0] if contact.emails else None
    if name in ("language", "lifecycle", "contact_id"):
        return getattr(contact, name)
    custom: Any = contact.fields.get(name)
    if isinstance(custom, list):
        return ", ".join(custom) if custom else None
    return custom


def resolve_params(template: MessageTemplate, variables: Mapping[str, VariableSource],
                   candidate: Candidate) -> dict[str, Any] | str:
    """slot → value for every variable the template has, or an exclusion reason (`missing_variable:<slot>`)."""
    params: dict[str, Any] = {}
    for var in variables_of(template):
        source = variables.get(var.slot)
        value: Any = None
        if source is not None:
            value = source.value if source.value is not None else field_value(candidate, source.field or "")
            if (value is None or value == "") and source.default is not None:
                value = source.default
        if value is None or value == "":
            if var.required:
                return f"missing_variable:{var.slot}"
            continue
        params[var.slot] = value if isinstance(value, dict) else (
            value if isinstance(value, str) else str(value))
    return params


def evaluate(candidate: Candidate, *, template: MessageTemplate, variables: Mapping[str, VariableSource],
             purpose: str, default_country: str | None, exclude_tags: frozenset[str] = frozenset()
             ) -> Eligible | Excluded:
    contact = candidate.contact
    contact_id = contact.contact_id if contact is not None else None
    address = address_of(candidate, default_country)
    if isinstance(address, str):
        return Excluded(address, None, contact_id)
    to, contact_key = address
    if contact is not None and exclude_tags & set(contact.tags):
        return Excluded("excluded_tag", to, contact_id)
    reason = consent_reason(contact, purpose)
    if reason:
        return Excluded(reason, to, contact_id)
    params = resolve_params(template, variables, candidate)
    if isinstance(params, str):
        return Excluded(params, to, contact_id)
    try:
        build_components(template, params)
    except TemplateParamError as exc:
        return Excluded("invalid_variable", to, contact_id, detail="; ".join(
            f"{p.slot}: {p.message}" for p in exc.problems)[:500])
    return Eligible(to, contact_key, contact_id, params)


_STOP = {"stop", "baja", "darmedebaja", "desuscribir", "desuscribirme", "unsubscribe", "cancelarsuscripcion",
         "nomasmensajes", "detenerpromociones", "stoppromotions", "nomolestar"}
_START = {"alta", "start", "suscribir", "suscribirme", "subscribe"}


def keyword_consent(text: str | None) -> str | None:
    """'opted_out' for STOP/BAJA-like replies, 'opted_in' for ALTA/START, else None (whole message only)."""
    if not text or len(text) > 40:
        return None
    folded = text_fold(text).replace(" ", "")
    if folded in _STOP:
        return "opted_out"
    if folded in _START:
        return "opted_in"
    return None
