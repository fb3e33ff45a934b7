"""Email receiving: an SES receipt rule set whose one rule stores each message in the media bucket (prefix
inbound-email/) and notifies an SNS topic that feeds the `email` queue (email_processor).

SES has one *active* receipt rule set per account and region and CloudFormation cannot activate one: after the
first deploy run `aws ses set-active-receipt-rule-set --rule-set-name <EmailReceiptRuleSet output>` once (README
"Email"), verify the tenants' domains in SES and point their MX records at inbound-smtp.<region>.amazonaws.com.
The rule has no recipient filter: every verified domain's mail reaches the processor, which drops what is not
addressed to a connected channel (metric EmailNoChannel).
"""

from __future__ import annotations

from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

INBOUND_EMAIL_PREFIX = "inbound-email/"


class EmailReceiving(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, bucket: s3.IBucket, queue: sqs.IQueue) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Received", display_name="SES receipt notifications", enforce_ssl=True)
        NagSuppressions.add_resource_suppressions(self.topic, [NagPackSuppression(
            id="AwsSolutions-SNS2",
            reason="The SES S3-action notification carries only headers and verdicts (the message itself is in the "
            "encrypted bucket); SES can publish to a KMS-encrypted topic only with a customer key whose policy "
            "admits it, which adds a key to manage for no content.")])
        self.topic.add_subscription(subscriptions.SqsSubscription(queue))
        self.rule_set = ses.ReceiptRuleSet(self, "RuleSet", rules=[ses.ReceiptRuleOptions(
            scan_enabled=True,  # spam and virus verdicts in every notification (refused on a virus)
            tls_policy=ses.TlsPolicy.OPTIONAL,
            actions=[ses_actions.S3(bucket=bucket, object_key_prefix=INBOUND_EMAIL_PREFIX, topic=self.topic)],
        )])
