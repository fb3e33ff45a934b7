"""One place for Lambda defaults: the shared code asset, the dependency layer and the function builder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.topology import FunctionSpec

# infra/build_assets.py builds the layer for exactly this runtime and architecture.
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
METRICS_NAMESPACE = "Omnichannel"
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class FunctionPackage(Construct):
    """The code asset (shared/ + functions/) and the one dependency layer every function uses."""

    def __init__(self, scope: Construct, construct_id: str, *, code_dir: Path, layer_dir: Path) -> None:
        super().__init__(scope, construct_id)
        self.code = lambda_.Code.from_asset(str(code_dir))
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Powertools, pydantic and httpx for the omnichannel functions",
        )


class AppFunction(Construct):
    """A function built from a FunctionSpec with the house defaults.

    arm64, Python 3.13, JSON logs into an explicit log group with retention, X-Ray active tracing and
    Powertools settings. The role starts empty apart from writing to its own log group (no managed
    AWSLambdaBasicExecutionRole); the stack adds every other permission through grants.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        package: FunctionPackage,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {spec.name}",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=package.code,
            handler=spec.handler,
            layers=[package.layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": spec.name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": "INFO",
            },
        )
        NagSuppressions.add_resource_suppressions(
            self.function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason="Python 3.13 is pinned on purpose: the dependency layer is built for cp313 wheels "
                    "(infra/build_assets.py), so runtime and layer move to a newer Python together.",
                )
            ],
        )
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support "
                    "no resource-level permissions and therefore need Resource *.",
                    applies_to=["Resource::*"],
                )
            ],
            apply_to_children=True,
        )
