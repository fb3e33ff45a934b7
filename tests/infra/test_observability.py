"""The operations dashboard and alarms in the synthesized template: what each alarm reads, its threshold and
window, and the dashboard rows of the metrics the functions emit (tests/unit/test_operational_metrics.py)."""

from __future__ import annotations

import json
from typing import Any

from infra.constructs import observability as obs
from infra.topology import ROUTES

Template = dict[str, Any]


def alarms(template: Template) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


def plain_alarm(template: Template, metric: str) -> dict[str, Any]:
    alarm: dict[str, Any] = only([a for a in alarms(template) if a.get("MetricName") == metric])
    return alarm


def math_alarm(template: Template, fragment: str) -> dict[str, Any]:
    alarm: dict[str, Any] = only([a for a in alarms(template)
                                  if any(fragment in m.get("Expression", "") for m in a.get("Metrics", []))])
    return alarm


def stats_of(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The named metrics of a math alarm, by id."""
    return {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}


def dimensions(stat: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}


def dashboard_widgets(template: Template) -> dict[str, dict[str, Any]]:
    [body] = [r["Properties"]["DashboardBody"] for r in template["Resources"].values()
              if r["Type"] == "AWS::CloudWatch::Dashboard"]
    text = "".join(p if isinstance(p, str) else "token" for p in body["Fn::Join"][1])
    return {w["properties"].get("title", ""): w for w in json.loads(text)["widgets"]}


def test_signature_failures_alarm_on_the_sum_over_every_signed_channel(template_dict: Template) -> None:
    alarm = math_alarm(template_dict, "FILL(s0, 0)")

    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (
        10, "GreaterThanOrEqualToThreshold", 1)
    summed = {(dimensions(s)["channel"], dimensions(s)["service"]) for s in stats_of(alarm).values()}
    assert summed == set(obs.SIGNED_WEBHOOKS)
    for stat in stats_of(alarm).values():
        assert (stat["Metric"]["MetricName"], stat["Stat"], stat["Period"]) == ("WebhookSignatureRejected", "Sum", 300)


def test_the_signed_channels_are_the_webhook_routes_and_their_handlers_dimension() -> None:
    from functions.sms_webhook.handler import CHANNEL as SMS
    from functions.telegram_webhook.handler import CHANNEL as TELEGRAM
    from functions.whatsapp_webhook.handler import CHANNEL as WHATSAPP

    posted = {(r.path.split("/")[2], r.function) for r in ROUTES
              if r.method == "POST" and r.path.startswith("/webhooks/")}
    assert set(obs.SIGNED_WEBHOOKS) == posted
    assert {WHATSAPP, TELEGRAM, SMS} == {"whatsapp", "telegram", "sms"}  # page_webhook: its path's kind


def test_ingest_lag_alarms_on_p95_above_30_seconds_for_three_periods(template_dict: Template) -> None:
    alarm = plain_alarm(template_dict, "IngestLag")

    assert alarm["Dimensions"] == [{"Name": "service", "Value": "inbound_processor"}]
    assert (alarm["ExtendedStatistic"], alarm["Period"], alarm["Threshold"], alarm["EvaluationPeriods"],
            alarm["ComparisonOperator"]) == ("p95", 300, 30_000, 3, "GreaterThanThreshold")
    assert obs.INGEST_LAG_P95_THRESHOLD_MS == 30_000


def test_bot_turn_latency_alarms_on_p95_above_10_seconds_for_three_periods(template_dict: Template) -> None:
    alarm = plain_alarm(template_dict, "BotTurnLatency")

    assert alarm["Dimensions"] == [{"Name": "service", "Value": "bot_turn"}]
    assert (alarm["ExtendedStatistic"], alarm["Period"], alarm["Threshold"], alarm["EvaluationPeriods"],
            alarm["ComparisonOperator"]) == ("p95", 300, 10_000, 3, "GreaterThanThreshold")


def test_service_level_alarms_below_80_percent_once_there_were_10_assignments_in_15_minutes(
        template_dict: Template) -> None:
    alarm = math_alarm(template_dict, "100 * within / (within + after)")
    [expression] = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]

    assert expression == "IF(within + after >= 10, 100 * within / (within + after), 100)"
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (
        80, "LessThanThreshold", 1)
    stats = stats_of(alarm)
    assert {k: (s["Metric"]["MetricName"], dimensions(s), s["Stat"], s["Period"]) for k, s in stats.items()} == {
        "within": ("AssignedWithinSla", {"service": "router"}, "Sum", 900),
        "after": ("AssignedAfterSla", {"service": "router"}, "Sum", 900),
    }
    assert alarm["TreatMissingData"] == "notBreaching"  # no assignments is not a bad service level


def test_the_sla_of_the_dashboard_is_the_routers() -> None:
    from functions.router.handler import ASSIGNMENT_SLA_S

    assert obs.ASSIGNMENT_SLA_S == ASSIGNMENT_SLA_S


def test_the_send_failed_alarm_still_reads_the_plain_count(template_dict: Template) -> None:
    alarm = plain_alarm(template_dict, "SendFailed")

    assert alarm["Dimensions"] == [{"Name": "service", "Value": "outbound_sender"}]
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 5)


def test_dashboard_has_the_operations_rows(template_dict: Template) -> None:
    widgets = dashboard_widgets(template_dict)

    def expressions(title: str) -> list[str]:
        return [m[0]["expression"] for m in widgets[title]["properties"]["metrics"] if isinstance(m[0], dict)]

    def metrics(title: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [(m[1], m[3], m[-1]) for m in widgets[title]["properties"]["metrics"] if m[0] == "Omnichannel"]

    assert expressions("Webhooks received by channel (per 5 min)") == [
        "SEARCH('{Omnichannel,channel,service} MetricName=\"WebhookReceived\"', 'Sum', 300)"]
    assert expressions("Webhook signatures rejected by channel") == [
        "SEARCH('{Omnichannel,channel,service} MetricName=\"WebhookSignatureRejected\"', 'Sum', 300)"]
    assert [(name, service, m["stat"]) for name, service, m in metrics("Ingest lag, webhook to stored (ms)")] == [
        ("IngestLag", "inbound_processor", s) for s in ("p50", "p95", "Maximum")]
    assert expressions("Send failures by error code, and refusals") == [
        "SEARCH('{Omnichannel,error_code,service} MetricName=\"SendFailed\"', 'Sum', 300)"]
    assert expressions("Bot turn latency p95 by generation (ms)") == [
        "SEARCH('{Omnichannel,generation,service} MetricName=\"BotTurnLatency\"', 'p95', 300)"]
    assert [(name, m["stat"]) for name, _, m in metrics("Assignment wait in queue (s)")] == [
        ("AssignmentWait", s) for s in ("p50", "p95", "Maximum")]
    assert "100 * within / (within + after)" in expressions("Service level (% of queue assignments within 60 s)")
    assert {name for name, service, _ in metrics("Broadcast progress (recipients per 5 min)")
            if service == "broadcast_worker"} == set(obs.BROADCAST_METRICS)
    # queue depths and dead letters stay on the dashboard
    assert {"Queue depth", "Oldest message age (s)", "Dead-letter depth"} <= set(widgets)


def test_every_threshold_is_in_the_alarm_descriptions(template_dict: Template) -> None:
    descriptions = " ".join(a.get("AlarmDescription", "") for a in alarms(template_dict))
    for text in ("At least 10 webhook deliveries with a bad signature", "p95 from webhook to stored above 30 s",
                 "Bot turns: p95 above 10 s", "Fewer than 80% of at least 10 queue assignments"):
        assert text in descriptions
