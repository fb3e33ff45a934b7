"""Checks a WhatsApp template before it goes to Meta's review (and on sync), with findings a person can act on.

Rules (``error``: Meta rejects the template as written; ``warning``: Meta is likely to reject or re-categorize):

- ``marketing_in_utility`` (warning): a UTILITY or AUTHENTICATION template whose header, body, footer or
  button texts read as promotional. Spanish and English signals are matched on lower-cased, accent-folded
  text. *Strong* signals (one is enough): a discount ("20% off", "20% de descuento", "descuento", "discount"),
  a promotion or offer ("promo", "promoción", "oferta", "rebaja", "liquidación", "2x1"), a coupon ("cupón",
  "coupon"), a buying call ("compra ahora", "buy now", "shop now") or a sales event ("black friday", "cyber
  monday", "hot sale"). *Weak* signals (two different ones are needed): a bare percentage, "sale" (also a
  Spanish verb: "tu pedido sale hoy"), "off", "gratis"/"free", "aprovecha", "no te lo pierdas", "últimos días",
  "por tiempo limitado"/"limited time", "exclusivo"/"exclusive", "nuevo producto"/"new arrivals", "cyber".
  Meta re-categorizes such templates as MARKETING (or rejects them when `allow_category_change` is off), and
  marketing messages cost several times more and are never free inside the customer-service window.
- ``variables_at_edges`` (warning): the body starts or ends with a variable; Meta rejects it. Not applied to
  AUTHENTICATION templates, whose body is Meta's preset text.
- ``adjacent_variables`` (warning): two variables with nothing but spaces between them (``{{1}} {{2}}``).
- ``too_many_variables_for_length`` (warning): the body has fewer than ``WORDS_PER_VARIABLE`` words of fixed
  text per variable; Meta rejects templates that are mostly variables. The ratio is a heuristic.
- ``missing_examples`` (error): header or body variables without an example of matching length
  (``header_text``/``body_text``, or ``*_named_params`` for NAMED), a media header without ``header_handle``,
  or a dynamic URL button without an example.
- ``named_format_mismatch`` (error): NAMED format with ``{{1}}``-style placeholders, or POSITIONAL with names.
- ``positional_not_sequential`` (error): positional placeholders in a header or body that are not 1..n in
  order of first appearance.
- ``authentication_with_content`` (warning, create requests only): an AUTHENTICATION template with body text,
  a header or a URL button. Meta supplies the authentication text itself ("<code> is your verification code"),
  so a synced template's body text is expected and not reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared.models.templates import LintFinding, TemplateComponent, TemplateInput
from shared.services.template_params import PLACEHOLDER, TemplateLike, placeholders
from shared.services.text_norm import strip_accents

__all__ = ["WORDS_PER_VARIABLE", "lint_template", "promotional_signals"]

WORDS_PER_VARIABLE = 3


def _signals(*patterns: str) -> tuple[re.Pattern[str], ...]:
    """Each pattern matches whole words of the folded text."""
    return tuple(re.compile(rf"(?<![a-z0-9]){p}(?![a-z0-9])") for p in patterns)


_STRONG = _signals(
    r"\d+ ?% ?(?:off|de descuento|de dto|dto)", r"descuentos?", r"discounts?", r"promos?", r"promociones",
    r"promocion", r"ofertas?", r"rebajas?", r"liquidacion", r"cupon(?:es)?", r"coupons?", r"2 ?x ?1",
    r"compra ahora", r"buy now", r"shop now", r"black friday", r"cyber ?monday", r"hot ?sale",
)
_WEAK = _signals(
    r"\d+ ?%", r"sale", r"off", r"gratis", r"free", r"aprovecha", r"no te lo pierdas", r"ultimos dias",
    r"por tiempo limitado", r"limited time", r"exclusiv[oa]s?", r"exclusive", r"nuevos? productos?",
    r"new arrivals?", r"cyber",
)


def _fold(text: str) -> str:
    """Lower case, accents removed, placeholders blanked, whitespace squeezed; punctuation kept (for "%")."""
    return " ".join(strip_accents(PLACEHOLDER.sub(" ", text)).casefold().split())


def _matches(signals: Iterable[re.Pattern[str]], text: str) -> dict[str, int]:
    """Matched phrases (as folded) -> where each first appears."""
    found: dict[str, int] = {}
    for pattern in signals:
        for match in pattern.finditer(text):
            found.setdefault(match.group(0), match.start())
    return found


def promotional_signals(text: str) -> tuple[list[str], list[str]]:
    """(strong, weak) promotional phrases found in `text` as they read once folded, in order of appearance.

    A phrase inside a longer match ("descuento" in "30% de descuento", "off" in "25% off") is not repeated.
    """
    folded = _fold(text)
    strong, weak = _matches(_STRONG, folded), _matches(_WEAK, folded)
    everything = {**weak, **strong}

    def kept(found: dict[str, int]) -> list[str]:
        return [phrase for phrase, _ in sorted(found.items(), key=lambda item: item[1])
                if not any(phrase != other and phrase in other for other in everything)]

    return kept(strong), kept(weak)


def _component(template: TemplateLike, kind: str) -> TemplateComponent | None:
    return next((c for c in template.components if c.type == kind), None)


def _texts(template: TemplateLike) -> list[str]:
    out: list[str] = []
    for component in template.components:
        if component.text:
            out.append(component.text)
        out.extend(button.text for button in component.buttons if button.text)
    return out


def _marketing_in_utility(template: TemplateLike) -> list[LintFinding]:
    if template.category not in ("UTILITY", "AUTHENTICATION"):
        return []
    strong, weak = promotional_signals("\n".join(_texts(template)))
    if not strong and len(weak) < 2:
        return []
    phrases = ", ".join(f'"{p}"' for p in strong + weak)
    if isinstance(template, TemplateInput) and not template.allow_category_change:
        fate = "Meta is likely to reject it (allow_category_change is off) or"
    else:
        fate = "Meta is likely to"
    return [LintFinding(rule="marketing_in_utility", severity="warning", message=(
        f"This {template.category} template reads as promotional ({phrases}). {fate} re-categorize it as "
        "MARKETING: marketing messages are billed several times more per delivered message (about 2x to 15x "
        "in Latin American markets), are never free inside the customer-service window, and count against "
        "per-user marketing limits. Remove the promotional wording or create it as MARKETING."))]


def _body_text(template: TemplateLike) -> str:
    body = _component(template, "BODY")
    return (body.text or "") if body else ""


def _variables_at_edges(template: TemplateLike) -> list[LintFinding]:
    text = _body_text(template).strip()
    if not text or template.category == "AUTHENTICATION":  # Meta writes that text ("{{1}} is your ... code")
        return []
    edges = [where for where, hit in (("starts", PLACEHOLDER.match(text)),
                                      ("ends", re.search(rf"{PLACEHOLDER.pattern}$", text))) if hit]
    if not edges:
        return []
    return [LintFinding(rule="variables_at_edges", severity="warning", message=(
        f"The body {' and '.join(edges)} with a variable; Meta rejects templates whose body starts or ends "
        "with a parameter. Put fixed text before and after it."))]


_ADJACENT = re.compile(rf"{PLACEHOLDER.pattern}\s*{PLACEHOLDER.pattern}")


def _adjacent_variables(template: TemplateLike) -> list[LintFinding]:
    out: list[LintFinding] = []
    for kind in ("HEADER", "BODY"):
        component = _component(template, kind)
        text = (component.text or "") if component else ""
        pairs = [f"{{{{{m.group(1)}}}}}{{{{{m.group(2)}}}}}" for m in _ADJACENT.finditer(text)]
        if pairs:
            out.append(LintFinding(rule="adjacent_variables", severity="warning", message=(
                f"The {kind.lower()} has variables with no text between them ({', '.join(pairs)}); Meta rejects "
                "adjacent parameters. Put words between them, or merge them into one variable.")))
    return out


def _too_many_variables_for_length(template: TemplateLike) -> list[LintFinding]:
    text = _body_text(template)
    count = len(placeholders(text))
    if not count:
        return []
    words = len(re.findall(r"\w+", PLACEHOLDER.sub(" ", text)))
    if words >= WORDS_PER_VARIABLE * count:
        return []
    return [LintFinding(rule="too_many_variables_for_length", severity="warning", message=(
        f"The body has {count} variable(s) but only {words} word(s) of fixed text; Meta rejects templates with "
        f"too many parameters for their length. Aim for at least {WORDS_PER_VARIABLE} words per variable."))]


def _examples_problem(component: TemplateComponent, prefix: str, names: list[str], named: bool) -> str | None:
    """Why the example block does not cover `names`, or None when it does."""
    example = component.example or {}
    if named:
        given = {str(item.get("param_name")) for item in example.get(f"{prefix}_text_named_params") or []
                 if isinstance(item, dict) and item.get("example") not in (None, "")}
        missing = [n for n in names if n not in given]
        return (f"example.{prefix}_text_named_params has no example for {', '.join(missing)}") if missing else None
    row = example.get(f"{prefix}_text")
    if prefix == "body":
        row = row[0] if isinstance(row, list) and row and isinstance(row[0], list) else None
    if not isinstance(row, list):
        return f"example.{prefix}_text is missing"
    if len(row) != len(names):
        return f"example.{prefix}_text has {len(row)} value(s) for {len(names)} variable(s)"
    return None


def _missing_examples(template: TemplateLike) -> list[LintFinding]:
    named = template.parameter_format == "NAMED"
    problems: list[str] = []
    for kind, prefix in (("HEADER", "header"), ("BODY", "body")):
        component = _component(template, kind)
        if component is None:
            continue
        fmt = (component.format or "TEXT") if kind == "HEADER" else "TEXT"
        if fmt in ("IMAGE", "VIDEO", "DOCUMENT"):
            if not (component.example or {}).get("header_handle"):
                problems.append(f"the {fmt.lower()} header needs example.header_handle (a sample uploaded to Meta)")
            continue
        names = placeholders(component.text)
        if names and (why := _examples_problem(component, prefix, names, named)):
            problems.append(f"{prefix}: {why}")
    buttons = _component(template, "BUTTONS")
    for index, button in enumerate(buttons.buttons if buttons else []):
        if button.type == "URL" and placeholders(button.url) and not button.example:
            problems.append(f"button {index} ({button.text}): a dynamic URL needs an example")
    return [LintFinding(rule="missing_examples", severity="error", message=(
        f"Meta requires sample values for every variable: {problem}."))
        for problem in problems]


def _named_format_mismatch(template: TemplateLike) -> list[LintFinding]:
    names = [n for kind in ("HEADER", "BODY") for n in placeholders(getattr(_component(template, kind), "text", None))]
    if template.parameter_format == "NAMED":
        wrong = [n for n in names if n.isdigit()]
        expected = "named placeholders such as {{first_name}}"
    else:
        wrong = [n for n in names if not n.isdigit()]
        expected = "numbered placeholders {{1}}, {{2}}, ... (or set parameter_format NAMED)"
    if not wrong:
        return []
    shown = ", ".join(f"{{{{{n}}}}}" for n in wrong)
    return [LintFinding(rule="named_format_mismatch", severity="error", message=(
        f"parameter_format is {template.parameter_format} but the template uses {shown}; use {expected}."))]


def _positional_not_sequential(template: TemplateLike) -> list[LintFinding]:
    if template.parameter_format == "NAMED":
        return []
    out: list[LintFinding] = []
    for kind in ("HEADER", "BODY"):
        component = _component(template, kind)
        names = placeholders(component.text if component else None)
        if not names or not all(n.isdigit() for n in names):
            continue  # named placeholders are named_format_mismatch's finding
        expected = [str(i) for i in range(1, len(names) + 1)]
        if names != expected:
            shown = ", ".join(f"{{{{{n}}}}}" for n in names)
            out.append(LintFinding(rule="positional_not_sequential", severity="error", message=(
                f"The {kind.lower()} numbers its variables {shown}; Meta requires {{{{1}}}}, {{{{2}}}}, ... in "
                "order of appearance with no gaps.")))
    return out


def _authentication_with_content(template: TemplateLike) -> list[LintFinding]:
    if template.category != "AUTHENTICATION" or not isinstance(template, TemplateInput):
        return []
    extras: list[str] = []
    body = _component(template, "BODY")
    if body is not None and body.text:
        extras.append("body text")
    if _component(template, "HEADER") is not None:
        extras.append("a header")
    buttons = _component(template, "BUTTONS")
    if buttons is not None and any(b.type == "URL" for b in buttons.buttons):
        extras.append("a URL button")
    if not extras:
        return []
    return [LintFinding(rule="authentication_with_content", severity="warning", message=(
        f"AUTHENTICATION templates use Meta's preset text; this one has {', '.join(extras)}. Leave the body "
        "to add_security_recommendation, the footer to code_expiration_minutes and the buttons to one OTP "
        "button, or create a UTILITY template instead."))]


_RULES = (
    _marketing_in_utility,
    _variables_at_edges,
    _adjacent_variables,
    _too_many_variables_for_length,
    _missing_examples,
    _named_format_mismatch,
    _positional_not_sequential,
    _authentication_with_content,
)


def lint_template(template: TemplateLike) -> list[LintFinding]:
    """Every finding for a stored template or a create request, errors first, then in rule order."""
    findings = [finding for rule in _RULES for finding in rule(template)]
    return sorted(findings, key=lambda f: f.severity != "error")
