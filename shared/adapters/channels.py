"""Channel directory: channel config from DynamoDB and secrets from Secrets Manager, cached per process.

Both are read on every webhook, so they are cached (TTL from settings); a signature that fails against the
cached app secret may force one fresh read, at most once a minute per channel (secret rotation without
letting forged requests turn into a Secrets Manager bill).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from shared.adapters.dynamodb import DynamoChannels
from shared.models.channel import Channel, ChannelSecrets

FRESH_READ_MIN_INTERVAL_S = 60.0


class CachedChannelDirectory:
    def __init__(self, channels: DynamoChannels, secrets_client: Any, *, ttl_s: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._channels = channels
        self._secrets = secrets_client
        self._ttl = ttl_s
        self._now = monotonic
        self._channel_cache: dict[str, tuple[float, Channel | None]] = {}
        self._secret_cache: dict[str, tuple[float, ChannelSecrets]] = {}

    def get_channel(self, channel_id: str) -> Channel | None:
        hit = self._channel_cache.get(channel_id)
        if hit and self._now() - hit[0] < self._ttl:
            return hit[1]
        channel = self._channels.get(channel_id)
        self._channel_cache[channel_id] = (self._now(), channel)
        return channel

    def channel_for_account(self, kind: str, account_id: str) -> Channel | None:
        key = f"account#{kind}#{account_id}"
        hit = self._channel_cache.get(key)
        if hit and self._now() - hit[0] < self._ttl:
            return hit[1]
        channel = self._channels.channel_for_account(kind, account_id)
        self._channel_cache[key] = (self._now(), channel)
        return channel

    def get_secrets(self, channel: Channel, *, fresh: bool = False) -> ChannelSecrets:
        hit = self._secret_cache.get(channel.secret_name)
        age = self._now() - hit[0] if hit else None
        if hit and age is not None and (age < self._ttl and not (fresh and age >= FRESH_READ_MIN_INTERVAL_S)):
            return hit[1]
        raw = self._secrets.get_secret_value(SecretId=channel.secret_name)["SecretString"]
        secrets = ChannelSecrets.model_validate(json.loads(raw))
        self._secret_cache[channel.secret_name] = (self._now(), secrets)
        return secrets
