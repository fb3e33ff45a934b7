"""cdk-nag AwsSolutions and cfn-lint on the synthesized stack."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match
from cfnlint.api import ManualArgs, lint

from infra.app import Synthesized

pytestmark = pytest.mark.infra

AWS_SOLUTIONS = Match.string_like_regexp("AwsSolutions-.*")
MIN_REASON_LENGTH = 60  # a reason says why this resource is fine, not just "needed"


def test_cdk_nag_reports_no_unsuppressed_errors(synthesized: Synthesized) -> None:
    assert Annotations.from_stack(synthesized.stack).find_error("*", AWS_SOLUTIONS) == []


def test_cdk_nag_reports_no_unsuppressed_warnings(synthesized: Synthesized) -> None:
    assert Annotations.from_stack(synthesized.stack).find_warning("*", AWS_SOLUTIONS) == []


def test_every_nag_suppression_is_scoped_and_explained(template_dict: dict[str, Any]) -> None:
    suppressions = [
        rule
        for resource in template_dict["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert suppressions, "expected the documented suppressions (IAM5, L1, APIG4, SQS3)"
    for rule in suppressions:
        assert len(rule["reason"]) >= MIN_REASON_LENGTH, rule
        if rule["id"] == "AwsSolutions-IAM5":
            assert rule.get("applies_to"), f"IAM5 must name the wildcard it accepts: {rule}"
    assert "cdk_nag" not in template_dict.get("Metadata", {}), "no stack-wide suppressions"


def test_cfn_lint_finds_no_errors(synthesized: Synthesized) -> None:
    matches = lint(json.dumps(synthesized.template), config=ManualArgs(regions=[synthesized.stack.region]))
    for match in matches:
        print(f"{match.rule.id} {match.message}")
    assert [str(m) for m in matches if m.rule.id.startswith("E")] == []


def test_comprehend_sentiment_is_granted_only_when_chosen_and_stays_nag_clean(template_dict: dict[str, Any]) -> None:
    import tempfile

    from infra.app import build_app

    def comprehend_statements(template: dict[str, Any]) -> list[Any]:
        return [s for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"
                for s in r["Properties"]["PolicyDocument"]["Statement"]
                if any(str(a).startswith("comprehend:") for a in
                       (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))]

    assert comprehend_statements(template_dict) == []  # the default lexicon needs no AWS access
    app, stack = build_app(outdir=tempfile.mkdtemp(prefix="cdk.out."), context={"sentiment_provider": "comprehend"})
    template = app.synth().get_stack_by_name(stack.stack_name).template
    # one statement per scorer (workflows' conditions, reports' per-message score); CDK merges each with the
    # function's other Resource "*" actions (X-Ray)
    statements = comprehend_statements(template)
    assert len(statements) == 2
    for statement in statements:
        assert {"comprehend:DetectSentiment", "comprehend:BatchDetectSentiment"} <= set(statement["Action"])
        assert not [a for a in statement["Action"] if str(a).startswith("comprehend:") and "Sentiment" not in a]
    for function in ("workflows", "reports"):
        env = [r["Properties"]["Environment"]["Variables"] for r in template["Resources"].values()
               if r["Type"] == "AWS::Lambda::Function"
               and r["Properties"]["Handler"].startswith(f"functions.{function}.")]
        assert env[0]["SENTIMENT_PROVIDER"] == "comprehend"
    assert Annotations.from_stack(stack).find_error("*", AWS_SOLUTIONS) == []
