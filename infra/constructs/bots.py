"""What the bot engine owns besides its function and queue: the key that signs its self-service links.

Per-tenant integration secrets (<bot_secret_prefix>/<tenant>/<name>) are created by tenants at runtime and the
optional OpenAI-compatible API key by the operator, so neither is a resource of this stack.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

LINK_KEY_LENGTH = 64


class Bots(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, link_secret_name: str) -> None:
        super().__init__(scope, construct_id)
        # HMAC key of the signed self-service links a bot sends: the bot_turn function signs with it
        # (shared/adapters/bot_delivery.py SignedLinkIssuer), the api function verifies. A plain string, or a JSON
        # list whose first entry signs.
        self.link_secret = secretsmanager.Secret(
            self,
            "LinkKey",
            secret_name=link_secret_name,
            description="HMAC key of the bots' signed self-service links: one key or a JSON list (the first signs). "
            "Read only by the bot_turn and api functions.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=LINK_KEY_LENGTH,
                exclude_punctuation=True,  # never valid JSON, so the runtime reads it as the plain key
                include_space=False,
            ),
            removal_policy=RemovalPolicy.RETAIN,  # links already sent must keep verifying
        )
        NagSuppressions.add_resource_suppressions(
            self.link_secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason="An HMAC signing key of this application, not a credential of a service a rotation "
                    "Lambda could update on both ends. It is rotated by hand: the secret may hold a JSON list whose "
                    "first entry signs, so a new key can be put first while links already sent expire.",
                )
            ],
        )
