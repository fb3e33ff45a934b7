"""State: the single DynamoDB table and the media bucket (with its access-log bucket)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.topology import TableSpec

QUARANTINE_PREFIX = "quarantine/"
QUARANTINE_DAYS = 90
ACCESS_LOG_DAYS = 365


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, table: TableSpec) -> None:
        super().__init__(scope, construct_id)
        string = dynamodb.AttributeType.STRING
        # AWS-managed key (aws/dynamodb): no key to run, every use is audited in CloudTrail, no monthly key fee.
        # A customer-managed key becomes worth its $1/month once per-tenant crypto-shredding is needed.
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=table.pk, type=string),
            sort_key=dynamodb.Attribute(name=table.sk, type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=table.ttl_attribute,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for gsi in table.gsis:
            self.table.add_global_secondary_index(
                index_name=gsi.name,
                partition_key=dynamodb.Attribute(name=gsi.pk, type=string),
                sort_key=dynamodb.Attribute(name=gsi.sk, type=string),
                projection_type=dynamodb.ProjectionType.ALL,
            )

        self.access_log_bucket = _private_bucket(
            self,
            "AccessLogs",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(ACCESS_LOG_DAYS))],
        )
        self.media_bucket = _private_bucket(
            self,
            "Media",
            versioned=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="media/",
            lifecycle_rules=[
                # Webhooks that failed verification or parsing are kept for inspection, then dropped.
                s3.LifecycleRule(
                    id="expire-quarantine",
                    prefix=QUARANTINE_PREFIX,
                    expiration=Duration.days(QUARANTINE_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)
                ),
            ],
        )


def _private_bucket(scope: Construct, construct_id: str, **props: Any) -> s3.Bucket:
    """A bucket with what every bucket shares: no public access, S3-managed SSE, TLS only, kept on delete."""
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        removal_policy=RemovalPolicy.RETAIN,
        **props,
    )
