"""Who may call the API besides tenant API keys: agents and supervisors (Cognito) and the platform operator.

- A Cognito user pool, invite only (AdminCreateUser sends the invitation), email sign-in, groups admin /
  supervisor / agent, and the custom attribute `tenant_id` that only admin APIs can set.
- One public app client (SRP, USER_PASSWORD_AUTH + refresh) for the agent console; OAuth only when a hosted-UI
  domain is set.
- Optional federation (OIDC or SAML) per tenant from the `identity_providers` context.
- The platform operator key(s) in Secrets Manager, read only by the Lambda authorizer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from aws_cdk import Duration, RemovalPolicy, SecretValue, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

TENANT_ATTRIBUTE = "tenant_id"  # Cognito prefixes it: custom:tenant_id in tokens and admin APIs
# Highest privilege first (precedence 0, 1, 2); a user's groups reach the ID token as cognito:groups.
GROUPS: tuple[tuple[str, str], ...] = (
    ("admin", "Tenant administrators: users, channels, API keys and settings of their tenant"),
    ("supervisor", "Supervisors: every conversation of their tenant, assignment and reports"),
    ("agent", "Agents: the conversations assigned to them"),
)
TOKEN_VALIDITY = Duration.hours(1)
REFRESH_TOKEN_VALIDITY = Duration.days(30)
PASSWORD_MIN_LENGTH = 12
TEMPORARY_PASSWORD_DAYS = 7
OPERATOR_KEY_LENGTH = 40
OIDC_SCOPES = ("openid", "email", "profile")
SAML_EMAIL_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
# Cognito accepts 3-32 characters for a provider name; this subset is also a valid construct id.
_PROVIDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$")


@dataclass(frozen=True)
class FederatedProvider:
    """One entry of the `identity_providers` context: a tenant's own IdP for its agents."""

    type: str  # "OIDC" | "SAML"
    # The Cognito provider name, t-<tenant_id>-<short name> as the platform API names the providers it
    # connects: the pre-token trigger gives a federated user the tenant of the provider record of that name.
    name: str
    tenant_id: str
    issuer: str = ""  # OIDC
    client_id: str = ""  # OIDC
    client_secret_name: str = ""  # OIDC: a plain-string Secrets Manager secret, resolved by CloudFormation
    metadata_url: str = ""  # SAML

    @classmethod
    def from_context(cls, raw: Mapping[str, Any]) -> FederatedProvider:
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"identity provider {raw.get('name')!r}: unknown keys {sorted(unknown)}")
        provider = cls(**{key: str(value) for key, value in raw.items()})
        required = {"OIDC": ("issuer", "client_id", "client_secret_name"), "SAML": ("metadata_url",)}
        if provider.type not in required:
            raise ValueError(f"identity provider {provider.name!r}: type must be OIDC or SAML, not {provider.type!r}")
        missing = [key for key in ("name", "tenant_id", *required[provider.type]) if not getattr(provider, key)]
        if missing:
            raise ValueError(f"identity provider {provider.name!r} ({provider.type}) needs {', '.join(missing)}")
        if not _PROVIDER_NAME.match(provider.name):
            raise ValueError(f"identity provider name {provider.name!r}: 3-32 of A-Z a-z 0-9 . _ -")
        if not provider.name.startswith(f"t-{provider.tenant_id}-"):
            raise ValueError(f"identity provider name {provider.name!r} must be t-{provider.tenant_id}-<name>: the "
                             "pre-token trigger only trusts a provider named after its tenant")
        return provider


class Identity(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pre_token_generation: lambda_.IFunction,
        operator_secret_name: str,
        identity_providers: Sequence[FederatedProvider] = (),
        domain_prefix: str | None = None,
        callback_urls: Sequence[str] = (),
        logout_urls: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        if identity_providers and not domain_prefix:
            raise ValueError("federated identity providers need the hosted UI: set cognito_domain_prefix")
        if domain_prefix and not callback_urls:
            raise ValueError("a hosted-UI domain needs cognito_callback_urls (the agent console's sign-in URLs)")

        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            # Invite only: a tenant admin (through the api function) calls AdminCreateUser, which emails the
            # temporary password; nobody can sign themselves up into a tenant.
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            # An email change only takes effect once the new address is verified.
            keep_original=cognito.KeepOriginalAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            # Set by AdminCreateUser on invitation; mutable so an admin API can correct it later. The app client
            # cannot write it (see below).
            custom_attributes={TENANT_ATTRIBUTE: cognito.StringAttribute(min_len=1, max_len=64, mutable=True)},
            password_policy=cognito.PasswordPolicy(
                min_length=PASSWORD_MIN_LENGTH,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(TEMPORARY_PASSWORD_DAYS),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            user_invitation=cognito.UserInvitationConfig(
                email_subject="Your agent account for the omnichannel inbox",
                email_body="You have been invited to the omnichannel inbox. Sign in with {username} and the "
                "temporary password {####}; you will choose your own password at first sign-in.",
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Pre-token generation, event V2: the trigger can set claims in the access token too (V1 reaches only the
        # ID token), so an agent's access token carries the tenant like the ID token; the Essentials plan
        # includes it. The function handles V1 and V2 events.
        self.user_pool.add_trigger(
            cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, pre_token_generation, cognito.LambdaVersion.V2_0
        )
        NagSuppressions.add_resource_suppressions(
            self.user_pool,
            [
                NagPackSuppression(
                    id="AwsSolutions-COG2",
                    reason="MFA is OPTIONAL with TOTP only (no SMS: no per-message cost, no SIM-swap risk). The "
                    "pool is shared by every tenant, so requiring MFA is each tenant's policy, and federated "
                    "agents get MFA from their own IdP, where Cognito MFA does not apply.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-COG8",
                    reason="Essentials feature plan on purpose (cost): Plus threat protection is billed per "
                    "monthly active user for every tenant's agents. Sign-in is invite only, passwords follow "
                    "the strong policy above, and Cognito's built-in lockout limits guessing.",
                ),
            ],
        )

        self.groups = {
            name: cognito.UserPoolGroup(
                self, f"{name}-group", user_pool=self.user_pool, group_name=name, description=description,
                precedence=precedence,
            )
            for precedence, (name, description) in enumerate(GROUPS)
        }

        self.providers = [self._provider(spec) for spec in identity_providers]
        self.domain = (
            self.user_pool.add_domain(
                "HostedUi", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
            )
            if domain_prefix
            else None
        )

        writable = cognito.ClientAttributes().with_standard_attributes(
            # email stays writable because federated providers map it (Cognito requires mapped attributes
            # to be writable by the client); keep_original makes a change wait for verification.
            email=True, given_name=True, family_name=True, fullname=True, locale=True, timezone=True
        )
        readable = cognito.ClientAttributes().with_standard_attributes(
            email=True, email_verified=True, given_name=True, family_name=True, fullname=True, locale=True,
            timezone=True,
        ).with_custom_attributes(TENANT_ATTRIBUTE)
        self.client = self.user_pool.add_client(
            "AgentConsole",
            generate_secret=False,  # a browser app cannot keep a secret
            # The console (infra/console/core.js) signs in with InitiateAuth USER_PASSWORD_AUTH from the browser
            # (over TLS to Cognito, with the NEW_PASSWORD_REQUIRED challenge of invited users); SRP stays for
            # SDK clients. Refresh-token auth is always allowed.
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
            id_token_validity=TOKEN_VALIDITY,
            access_token_validity=TOKEN_VALIDITY,
            refresh_token_validity=REFRESH_TOKEN_VALIDITY,
            enable_token_revocation=True,
            prevent_user_existence_errors=True,
            # tenant_id is readable but not writable: only admin APIs (AdminCreateUser, AdminUpdateUserAttributes)
            # set it, so a user cannot move themselves to another tenant with UpdateUserAttributes.
            read_attributes=readable,
            write_attributes=writable,
            supported_identity_providers=[
                cognito.UserPoolClientIdentityProvider.COGNITO,
                *(cognito.UserPoolClientIdentityProvider.custom(p.provider_name) for p in self.providers),
            ],
            # Without a hosted-UI domain there is no OAuth endpoint; CDK's default would otherwise enable the
            # implicit grant with an example.com callback.
            disable_o_auth=self.domain is None,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=list(callback_urls),
                logout_urls=list(logout_urls) or None,
            )
            if self.domain is not None
            else None,
        )
        for provider in self.providers:
            self.client.node.add_dependency(provider)  # the client names the providers it supports

        stack = Stack.of(self)
        # The issuer the authorizer checks JWTs against (iss claim); the JWKS lives at <issuer>/.well-known/jwks.json.
        self.issuer = f"https://cognito-idp.{stack.region}.{stack.url_suffix}/{self.user_pool.user_pool_id}"

        self.operator_secret = secretsmanager.Secret(
            self,
            "OperatorKeys",
            secret_name=operator_secret_name,
            description="Platform operator key(s) for /platform/v1: one key or a JSON list of keys. Read only by "
            "the Lambda authorizer.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=OPERATOR_KEY_LENGTH,
                exclude_punctuation=True,  # sent in Authorization / X-Api-Key headers: keep it header-safe
                include_space=False,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        NagSuppressions.add_resource_suppressions(
            self.operator_secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason="A bearer key held by the platform operator's tooling, not a credential of an AWS "
                    "service a rotation Lambda could update on both ends. It is rotated by hand without downtime: "
                    "the secret may hold a JSON list, so a new key is added, clients switch, the old key is removed.",
                )
            ],
        )

    def _provider(self, spec: FederatedProvider) -> cognito.IUserPoolIdentityProvider:
        if spec.type == "OIDC":
            return cognito.UserPoolIdentityProviderOidc(
                self,
                f"Idp{spec.name}",
                user_pool=self.user_pool,
                name=spec.name,
                issuer_url=spec.issuer,
                client_id=spec.client_id,
                # A {{resolve:secretsmanager:...}} dynamic reference: CloudFormation reads the value at deploy
                # time, so the client secret never appears in the template or the cloud assembly.
                client_secret=SecretValue.secrets_manager(spec.client_secret_name).unsafe_unwrap(),
                scopes=list(OIDC_SCOPES),
                attribute_mapping=cognito.AttributeMapping(email=cognito.ProviderAttribute.other("email")),
            )
        return cognito.UserPoolIdentityProviderSaml(
            self,
            f"Idp{spec.name}",
            user_pool=self.user_pool,
            name=spec.name,
            metadata=cognito.UserPoolIdentityProviderSamlMetadata.url(spec.metadata_url),
            attribute_mapping=cognito.AttributeMapping(email=cognito.ProviderAttribute.other(SAML_EMAIL_CLAIM)),
        )
