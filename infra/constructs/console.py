"""The agent console's hosting: the static site of infra/console/ on S3 behind CloudFront, on one origin with the API.

- A private bucket (no public access, TLS only, S3-managed encryption, server access logs) that only this
  distribution reads, through Origin Access Control.
- One CloudFront distribution, HTTPS only:
  - default behaviour: the site, at /console/ (a viewer-request function redirects / and /console to /console/ and
    serves /console/index.html there; the SPA routes by hash, so no other path needs rewriting);
  - `/v1/*`: the HTTP API, uncached, every viewer header but Host passed on, so the console calls the REST API on
    its own origin (`api_base` ""): no CORS, and the Authorization header reaches the Lambda authorizer.
  Every response carries the security headers of infra/console_site.py (one definition with the local stack),
  plus HSTS; the content security policy lets the page reach only its origin, the WebSocket API, Cognito and
  (when given) the bucket its file uploads go to with pre-signed URLs.
  Viewer requests are logged to a log bucket of their own (CloudFront's standard logs need ACLs, which the
  project's access-log bucket disables); the API's access logs only see CloudFront's address for these requests.
- The upload: the site's files under console/ plus a generated console/config.json holding public identifiers
  only (the WebSocket URL, the region and the app client id of the user pool), then an invalidation of /console/*.

The WebSocket API is reached directly (wss://<api>.execute-api...), not through CloudFront. Sign-in is Cognito's
InitiateAuth (USER_PASSWORD_AUTH) from the browser, which the app client allows (infra/constructs/identity.py).
"""

from __future__ import annotations

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import Construct

from infra import console_site

SITE_PREFIX = console_site.PREFIX.strip("/") + "/"  # "console/": key prefix in the bucket and path on the site
API_PATH_PATTERN = "/v1/*"
CONFIG_FILE = "config.json"
HSTS_MAX_AGE = Duration.days(730)  # two years
CDN_LOG_DAYS = 365
# A viewer-request function (cloudfront-js-2.0) in front of the bucket: S3 has no directory index, and the
# console's relative URLs (app.js, config.json) need the page served at /console/, not at / or /console.
ROUTING_FUNCTION = """function handler(event) {
  var uri = event.request.uri;
  if (uri === "/" || uri === "{PREFIX}") {
    return { statusCode: 301, statusDescription: "Moved Permanently", headers: { location: { value: "{PREFIX}/" } } };
  }
  if (uri === "{PREFIX}/") {
    event.request.uri = "{PREFIX}/index.html";
  }
  return event.request;
}
""".replace("{PREFIX}", console_site.PREFIX)


class Console(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        http_stage: apigwv2.IHttpStage,
        websocket_stage: apigwv2.IWebSocketStage,
        user_pool_client: cognito.IUserPoolClient,
        access_log_bucket: s3.IBucket,
        stage: str,
        upload_bucket: s3.IBucket | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        region = stack.region

        self.bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="console-site/",
            # Kept on delete like the project's other buckets; the deployment re-uploads everything anyway.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.log_bucket = s3.Bucket(
            self,
            "CdnLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # CloudFront's standard logs are delivered by the awslogsdelivery account through an ACL grant, so
            # this bucket keeps ACLs enabled (the project's access-log bucket enforces bucket-owner ownership).
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="console-cdn-logs/",
            lifecycle_rules=[s3.LifecycleRule(id="expire-cdn-logs", expiration=Duration.days(CDN_LOG_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,
        )

        api_domain = f"{http_stage.api.api_id}.execute-api.{region}.{stack.url_suffix}"
        # CSP origins: the WebSocket API's host (the console appends /?token=... to the stage URL, which a source
        # with a path would not match) and Cognito's endpoint exactly as core.js calls it.
        websocket_origin = f"wss://{websocket_stage.api.api_id}.execute-api.{region}.{stack.url_suffix}"
        cognito_origin = f"https://cognito-idp.{region}.amazonaws.com"
        # Files are PUT straight to the bucket through the API's pre-signed URLs (virtual-hosted: the global name in
        # us-east-1, the regional one elsewhere); the bucket's CORS rule for this origin is the stack's to add.
        upload_origins = (
            [f"https://{upload_bucket.bucket_domain_name}", f"https://{upload_bucket.bucket_regional_domain_name}"]
            if upload_bucket is not None
            else []
        )
        self.headers_policy = _response_headers_policy(
            self,
            "SecurityHeaders",
            console_site.security_headers([websocket_origin, cognito_origin, *upload_origins]),
        )
        routing = cloudfront.Function(
            self,
            "Routing",
            code=cloudfront.FunctionCode.from_inline(ROUTING_FUNCTION),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="Agent console: / and /console to /console/, /console/ to its index.html",
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{stack.stack_name} agent console",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                compress=True,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers_policy,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=routing, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            additional_behaviors={
                API_PATH_PATTERN: cloudfront.BehaviorOptions(
                    origin=origins.HttpOrigin(
                        api_domain,
                        origin_path=_origin_path(http_stage.stage_name),
                        protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                    ),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    # Never cached; with caching disabled the all-viewer policy forwards Authorization too.
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=self.headers_policy,
                )
            },
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="console/",
        )
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        self.url = f"{self.origin}{console_site.PREFIX}/"

        # Public identifiers only: the browser needs them to sign in and connect; nothing here is a secret.
        self.config = {
            "api_base": "",  # the REST API is /v1/* on this origin
            "ws_url": websocket_stage.url,
            "auth": {"mode": "cognito", "region": region, "client_id": user_pool_client.user_pool_client_id},
            "stage": stage,
        }
        self.deployment = self._deployment()
        self._explain()

    def _deployment(self) -> s3deploy.BucketDeployment:
        """The site's files and config.json under console/; its handler gets a role and log group of its own."""
        log_group = logs.LogGroup(
            self, "DeploymentLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.deployment_role = iam.Role(
            self,
            "DeploymentRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Uploads the agent console to its bucket and invalidates its CloudFront paths",
        )
        log_group.grant_write(self.deployment_role)
        shipped = set(console_site.files())
        not_shipped = sorted(
            str(path.relative_to(console_site.CONSOLE_DIR))
            for path in console_site.CONSOLE_DIR.rglob("*")
            if path.is_file() and path not in shipped
        )
        return s3deploy.BucketDeployment(
            self,
            "Upload",
            sources=[
                s3deploy.Source.asset(str(console_site.CONSOLE_DIR), exclude=not_shipped),
                s3deploy.Source.json_data(CONFIG_FILE, self.config),
            ],
            destination_bucket=self.bucket,
            destination_key_prefix=SITE_PREFIX,
            distribution=self.distribution,
            distribution_paths=[f"{console_site.PREFIX}/*"],
            role=self.deployment_role,
            log_group=log_group,
        )

    def _explain(self) -> None:
        NagSuppressions.add_resource_suppressions(
            self.distribution,
            [
                NagPackSuppression(
                    id="AwsSolutions-CFR1",
                    reason="No geo restriction: agents of every tenant sign in from wherever they work, and the "
                    "console is useless without a Cognito account of the invite-only user pool.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-CFR2",
                    reason="No WAF web ACL (a fixed monthly cost per distribution): the default behaviour serves "
                    "public static files only, and /v1/* is the HTTP API, which checks every request in its Lambda "
                    "authorizer and throttles per stage; its execute-api endpoint stays reachable without "
                    "CloudFront anyway, so a web ACL here would not shield it.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-CFR4",
                    reason="Served on the default *.cloudfront.net certificate, whose security policy CloudFront "
                    "fixes (TLSv1) and cannot be raised; browsers negotiate TLS 1.2/1.3 with it. A custom domain "
                    "with an ACM certificate and TLSv1.2_2021 is the way to enforce a minimum.",
                ),
            ],
        )
        site_objects = f"Resource::{_arn_ref(self.bucket)}/*"
        NagSuppressions.add_resource_suppressions(
            self.deployment_role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="CDK's BucketDeployment reads its source zips (the site, config.json) from the CDK "
                    "bootstrap asset bucket, whose keys are content hashes: GetObject*, GetBucket* and List* on that "
                    "one bucket's objects, as CDK grants them.",
                    applies_to=[
                        "Action::s3:GetObject*",
                        "Action::s3:GetBucket*",
                        "Action::s3:List*",
                        RegexAppliesTo(regex=r"/^Resource::arn:[^:]+:s3:::cdk-[a-z0-9]+-assets-[^/]+\/\*$/"),
                    ],
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="grant_read_write on the console's own site bucket: the deployment syncs every key under "
                    "console/ (puts new files, deletes files the site no longer ships, aborts its failed multipart "
                    "uploads); no other bucket.",
                    applies_to=["Action::s3:Abort*", "Action::s3:DeleteObject*", site_objects],
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="cloudfront:CreateInvalidation and GetInvalidation, which CDK's BucketDeployment grants "
                    "on * (not configurable) to invalidate /console/* after an upload; the role belongs to that "
                    "handler alone, which runs only while CloudFormation deploys the stack.",
                    applies_to=["Resource::*"],
                ),
            ],
            apply_to_children=True,
        )
        handler = _singleton_handler(self.deployment)
        NagSuppressions.add_resource_suppressions(
            handler,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason="CDK's own BucketDeployment handler: aws-cdk-lib picks its runtime (Python 3.13 in this "
                    "version) and moves it with CDK upgrades; it runs only while CloudFormation deploys the stack.",
                )
            ],
        )


def _response_headers_policy(
    scope: Construct, construct_id: str, headers: dict[str, str]
) -> cloudfront.ResponseHeadersPolicy:
    """CloudFront's form of console_site.security_headers: the headers CloudFront models (CSP, nosniff, frame,
    referrer) as security headers, every other one as a custom header, plus HSTS (the local stack serves HTTP)."""
    remaining = dict(headers)
    if remaining.pop("X-Content-Type-Options") != "nosniff":
        raise ValueError("X-Content-Type-Options must be nosniff (CloudFront's only value)")
    referrer = remaining.pop("Referrer-Policy")
    security = cloudfront.ResponseSecurityHeadersBehavior(
        content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
            content_security_policy=remaining.pop("Content-Security-Policy"), override=True
        ),
        content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
        frame_options=cloudfront.ResponseHeadersFrameOptions(
            frame_option=cloudfront.HeadersFrameOption[remaining.pop("X-Frame-Options")], override=True
        ),
        referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
            referrer_policy=cloudfront.HeadersReferrerPolicy[referrer.upper().replace("-", "_")], override=True
        ),
        strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
            access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
        ),
    )
    return cloudfront.ResponseHeadersPolicy(
        scope,
        construct_id,
        comment="Agent console: CSP, HSTS, nosniff, frame DENY, no referrer, permissions",
        security_headers_behavior=security,
        custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
            custom_headers=[
                # An origin's own value wins (the API sets its caching where it has one).
                cloudfront.ResponseCustomHeader(header=name, value=value, override=False)
                for name, value in remaining.items()
            ]
        ),
    )


def _origin_path(stage_name: str) -> str | None:
    """The $default stage serves the API at its root; a named stage lives under /<stage>."""
    return None if stage_name == "$default" else f"/{stage_name}"


def _singleton_handler(deployment: s3deploy.BucketDeployment) -> Construct:
    """The Lambda function behind the deployment: CDK creates it once per stack, at the stack's top level."""
    stack = Stack.of(deployment)
    return next(c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))


def _arn_ref(construct: Construct) -> str:
    """How cdk-nag spells a resource's Arn attribute in findings: <LogicalId.Arn>."""
    default_child = construct.node.default_child
    assert isinstance(default_child, CfnElement)
    return f"<{Stack.of(construct).get_logical_id(default_child)}.Arn>"
