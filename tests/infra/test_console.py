"""The agent console's hosting (infra/constructs/console.py): a private bucket behind CloudFront with OAC, the
security headers of infra/console_site.py, /v1/* on the same origin, the upload with a generated config.json of
public identifiers only, and the app client's password sign-in. Resources are found by what they are."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_cloudfront as cloudfront

from infra import console_site
from infra.app import Synthesized
from infra.constructs.console import ROUTING_FUNCTION
from tests.infra.test_template import Template, api_id, as_list, only, platform_functions, policy_statements, resources

pytestmark = pytest.mark.infra

URL_SUFFIX = "<AWS::URLSuffix>"
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
TWO_YEARS_S = 2 * 365 * 24 * 3600


def render(value: Any) -> str:
    """A CloudFormation string value with its references spelled <LogicalId> / <LogicalId.Attribute>."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render(part) for part in parts)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise AssertionError(f"unexpected intrinsic {value}")


def distribution(template: Template) -> dict[str, Any]:
    return dict(only(resources(template, "AWS::CloudFront::Distribution"))["DistributionConfig"])


def origin(config: dict[str, Any], origin_id: str) -> dict[str, Any]:
    return dict(only([o for o in config["Origins"] if o["Id"] == origin_id]))


def site_bucket_id(template: Template) -> str:
    config = distribution(template)
    domain = origin(config, config["DefaultCacheBehavior"]["TargetOriginId"])["DomainName"]
    return str(domain["Fn::GetAtt"][0])


def media_bucket_id(template: Template) -> str:
    return str(only([lid for lid, p in resources(template, "AWS::S3::Bucket").items()
                     if p.get("LoggingConfiguration", {}).get("LogFilePrefix") == "media/"]))  # fmt: skip


def deployment(template: Template) -> dict[str, Any]:
    return dict(only(resources(template, "Custom::CDKBucketDeployment")))


def client_id(template: Template) -> str:
    return str(only(resources(template, "AWS::Cognito::UserPoolClient").keys()))


def staged_sources(synthesized: Synthesized) -> list[Path]:
    """The deployment's sources as staged in the cloud assembly, in the order of its SourceObjectKeys."""
    outdir = Path(synthesized.stack.node.root.outdir)  # type: ignore[attr-defined]
    [manifest] = outdir.glob("*.assets.json")
    by_key = {dest["objectKey"]: outdir / asset["source"]["path"]
              for asset in json.loads(manifest.read_text())["files"].values()
              for dest in asset["destinations"].values()}  # fmt: skip
    return [by_key[key] for key in deployment(synthesized.template)["SourceObjectKeys"]]


def rendered_config(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    """config.json as the deployment writes it: the staged file with CDK's markers replaced by their values."""
    [config_dir] = [path for path in staged_sources(synthesized) if (path / "config.json").is_file()]
    text = (config_dir / "config.json").read_text()
    markers = {k: render(v) for m in deployment(synthesized.template)["SourceMarkers"] for k, v in m.items()}
    for marker, value in markers.items():
        text = text.replace(marker, value)
    assert "<<marker" not in text, text
    return text, json.loads(text)


# --- the bucket and the distribution ------------------------------------------------------------------------


def test_site_bucket_is_private_and_only_the_distribution_reads_it_through_oac(template_dict: Template) -> None:
    config = distribution(template_dict)
    site_origin = origin(config, config["DefaultCacheBehavior"]["TargetOriginId"])
    bucket_id = site_bucket_id(template_dict)
    bucket = resources(template_dict, "AWS::S3::Bucket")[bucket_id]
    oac = resources(template_dict, "AWS::CloudFront::OriginAccessControl")[
        site_origin["OriginAccessControlId"]["Fn::GetAtt"][0]]["OriginAccessControlConfig"]
    media = resources(template_dict, "AWS::S3::Bucket")[media_bucket_id(template_dict)]
    media_logs = media["LoggingConfiguration"]["DestinationBucketName"]
    [policy] = [p["PolicyDocument"] for p in resources(template_dict, "AWS::S3::BucketPolicy").values()
                if p["Bucket"] == {"Ref": bucket_id}]  # fmt: skip
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]

    assert site_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True)
    assert "WebsiteConfiguration" not in bucket
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == media_logs  # the project's access-log bucket
    assert template_dict["Resources"][bucket_id]["DeletionPolicy"] == "Retain"
    [allow] = allows  # CloudFront reads objects, for this distribution only; nobody else is allowed anything
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    distribution_id = only(resources(template_dict, "AWS::CloudFront::Distribution").keys())
    assert render(allow["Condition"]["StringEquals"]["AWS:SourceArn"]).endswith(f":distribution/<{distribution_id}>")
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in policy["Statement"])  # fmt: skip


def test_distribution_is_https_only_compressed_and_logs_viewer_requests(template_dict: Template) -> None:
    config = distribution(template_dict)
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    log_bucket_id = config["Logging"]["Bucket"]["Fn::GetAtt"][0]
    log_bucket = resources(template_dict, "AWS::S3::Bucket")[log_bucket_id]

    assert {b["ViewerProtocolPolicy"] for b in behaviours} == {"redirect-to-https"}
    assert config["DefaultCacheBehavior"]["Compress"] is True
    assert config["Enabled"] is True
    # CloudFront's standard logs need ACLs: a log bucket of its own, private, expiring, itself access-logged
    assert log_bucket_id != site_bucket_id(template_dict)
    assert log_bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    assert log_bucket["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    assert [r["ExpirationInDays"] for r in log_bucket["LifecycleConfiguration"]["Rules"]] == [365]
    assert "LoggingConfiguration" in log_bucket


def test_security_headers_carry_the_console_csp_with_the_websocket_api_and_cognito(
    synthesized: Synthesized,
) -> None:
    template = synthesized.template
    config = distribution(template)
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    policy_id = only({b["ResponseHeadersPolicyId"]["Ref"] for b in behaviours})  # the site's and the API's
    policy = resources(template, "AWS::CloudFront::ResponseHeadersPolicy")[policy_id]["ResponseHeadersPolicyConfig"]
    security = policy["SecurityHeadersConfig"]
    region = synthesized.stack.region
    websocket = f"wss://<{api_id(template, 'WEBSOCKET')}>.execute-api.{region}.{URL_SUFFIX}"
    cognito = f"https://cognito-idp.{region}.amazonaws.com"
    media = media_bucket_id(template)
    uploads = [f"https://<{media}.DomainName>", f"https://<{media}.RegionalDomainName>"]  # pre-signed PUTs
    csp = render(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    expected = console_site.security_headers([websocket, cognito, *uploads])

    # one definition: exactly what infra/console_site.py builds (and the local stack serves)
    assert csp == expected["Content-Security-Policy"]
    connect = only([d for d in csp.split("; ") if d.startswith("connect-src ")]).split()[1:]
    assert connect == ["'self'", websocket, cognito, *uploads]  # nothing else: no other bucket, no wildcard
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert security["StrictTransportSecurity"] == {"AccessControlMaxAgeSec": TWO_YEARS_S, "IncludeSubdomains": True,
                                                   "Override": True}
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert security["ContentTypeOptions"] == {"Override": True}  # X-Content-Type-Options: nosniff
    assert security["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": True}
    custom = {h["Header"]: h["Value"] for h in policy["CustomHeadersConfig"]["Items"]}
    assert custom == {"Permissions-Policy": expected["Permissions-Policy"], "Cache-Control": expected["Cache-Control"]}


def test_v1_is_the_http_api_on_the_same_origin_uncached_with_every_method(synthesized: Synthesized) -> None:
    template_dict = synthesized.template
    config = distribution(template_dict)
    api = only([b for b in config["CacheBehaviors"] if b["PathPattern"] == "/v1/*"])
    api_origin = origin(config, api["TargetOriginId"])

    assert [b["PathPattern"] for b in config["CacheBehaviors"]] == ["/v1/*"]  # no webhooks, no /platform
    assert api["CachePolicyId"] == cloudfront.CachePolicy.CACHING_DISABLED.cache_policy_id
    all_viewer_but_host = cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER
    assert api["OriginRequestPolicyId"] == all_viewer_but_host.origin_request_policy_id  # Authorization included
    assert set(api["AllowedMethods"]) == ALL_METHODS
    assert render(api_origin["DomainName"]) == (
        f"<{api_id(template_dict, 'HTTP')}>.execute-api.{synthesized.stack.region}.{URL_SUFFIX}")
    assert "OriginPath" not in api_origin  # the $default stage serves the API at its root
    assert api_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert api_origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    assert config["DefaultCacheBehavior"]["CachePolicyId"] != api["CachePolicyId"]  # the site is cached


def test_routing_function_serves_the_console_at_console_slash(template_dict: Template) -> None:
    node = shutil.which("node")
    assert node, "node is needed for CDK itself"
    function = only(resources(template_dict, "AWS::CloudFront::Function"))
    config = distribution(template_dict)
    uris = ["/", "/console", "/console/", "/console/app.js"]
    script = function["FunctionCode"] + f"\nconsole.log(JSON.stringify({json.dumps(uris)}.map("
    script += "(uri) => handler({request: {uri: uri}}))));"
    answers = dict(zip(uris, json.loads(subprocess.run([node, "-e", script], check=True, capture_output=True,
                                                          text=True).stdout), strict=True))

    assert function["FunctionCode"] == ROUTING_FUNCTION
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert only(config["DefaultCacheBehavior"]["FunctionAssociations"]) == {
        "EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [only(
            resources(template_dict, "AWS::CloudFront::Function").keys()), "FunctionARN"]}}
    for uri in ("/", "/console"):  # relative URLs (app.js, config.json) need the page at /console/
        assert answers[uri]["statusCode"] == 301
        assert answers[uri]["headers"]["location"]["value"] == "/console/"
    assert answers["/console/"] == {"uri": "/console/index.html"}
    assert answers["/console/app.js"] == {"uri": "/console/app.js"}
    assert "FunctionAssociations" not in only(config["CacheBehaviors"])  # the API gets requests untouched


def test_media_bucket_takes_the_consoles_presigned_puts_and_nothing_else_cross_origin(template_dict: Template) -> None:
    media = resources(template_dict, "AWS::S3::Bucket")[media_bucket_id(template_dict)]

    # the pre-signed URL authorizes the PUT; CORS only lets the browser send it (Content-Type is signed)
    assert media["CorsConfiguration"]["CorsRules"] == [
        {"AllowedMethods": ["PUT"], "AllowedOrigins": ["*"], "AllowedHeaders": ["content-type"], "MaxAge": 3600}]


# --- the upload ---------------------------------------------------------------------------------------------


def test_deployment_uploads_the_site_under_console_and_invalidates_it(synthesized: Synthesized) -> None:
    props = deployment(synthesized.template)
    distribution_id = only(resources(synthesized.template, "AWS::CloudFront::Distribution").keys())
    site, _config = staged_sources(synthesized)

    assert props["DestinationBucketName"] == {"Ref": site_bucket_id(synthesized.template)}
    assert props["DestinationBucketKeyPrefix"] == "console/"
    assert props["DistributionId"] == {"Ref": distribution_id}
    assert props["DistributionPaths"] == ["/console/*"]
    assert props.get("Prune", True) is True  # files the site no longer ships are removed
    shipped = sorted(str(p.relative_to(console_site.CONSOLE_DIR)) for p in console_site.files())
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()) == shipped
    assert "index.html" in shipped and "config.json" not in shipped  # config.json is generated


def test_config_json_holds_the_websocket_url_and_the_app_client_id_and_no_secret(synthesized: Synthesized) -> None:
    template = synthesized.template
    text, config = rendered_config(synthesized)
    region = synthesized.stack.region
    secrets = resources(template, "AWS::SecretsManager::Secret").keys()

    assert config == {
        "api_base": "",
        "ws_url": f"wss://<{api_id(template, 'WEBSOCKET')}>.execute-api.{region}.{URL_SUFFIX}/live",
        "auth": {"mode": "cognito", "region": region, "client_id": f"<{client_id(template)}>"},
        "stage": synthesized.stack.stack_name,
    }
    # public identifiers only: nothing named or referencing a secret, and the client has none to leak
    assert not re.search("secret|password|token", text, re.IGNORECASE), text
    assert secrets and not [s for s in secrets if s in text]
    assert only(resources(template, "AWS::Cognito::UserPoolClient"))["GenerateSecret"] is False


def test_deployment_role_writes_only_the_site_bucket_and_its_own_logs(template_dict: Template) -> None:
    handler = only([p for lid, p in resources(template_dict, "AWS::Lambda::Function").items()
                    if lid not in platform_functions(template_dict)])  # fmt: skip
    statements = policy_statements(template_dict, handler["Role"]["Fn::GetAtt"][0])
    site_arn = {"Fn::GetAtt": [site_bucket_id(template_dict), "Arn"]}
    writes = [s for s in statements if any(a.startswith(("s3:Put", "s3:Delete")) for a in as_list(s["Action"]))]
    log_groups = resources(template_dict, "AWS::Logs::LogGroup")
    logs = only([s for s in statements if "logs:PutLogEvents" in as_list(s["Action"])])

    assert logs["Resource"] == {"Fn::GetAtt": [handler["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]}
    assert log_groups[handler["LoggingConfig"]["LogGroup"]["Ref"]]["RetentionInDays"] == 30
    assert only(writes)["Resource"] == [site_arn, {"Fn::Join": ["", [site_arn, "/*"]]}]
    assert {a for s in statements for a in as_list(s["Action"]) if a.startswith("cloudfront:")} == {
        "cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"}
    assert not [r for r in resources(template_dict, "AWS::IAM::Role").values() if r.get("ManagedPolicyArns")]


# --- sign-in and outputs ------------------------------------------------------------------------------------


def test_app_client_allows_the_consoles_password_sign_in(template_dict: Template) -> None:
    client = only(resources(template_dict, "AWS::Cognito::UserPoolClient"))

    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]  # InitiateAuth from core.js
    assert "ALLOW_USER_SRP_AUTH" in client["ExplicitAuthFlows"]
    assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" not in client["ExplicitAuthFlows"]


def test_outputs_name_the_console_url(template_dict: Template) -> None:
    distribution_id = only(resources(template_dict, "AWS::CloudFront::Distribution").keys())

    assert render(template_dict["Outputs"]["ConsoleUrl"]["Value"]) == f"https://<{distribution_id}.DomainName>/console/"
