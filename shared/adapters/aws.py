"""boto3 clients and resources, built lazily and once per process.

boto3 honours AWS_ENDPOINT_URL, so the same code reaches moto server locally and AWS in production.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)


@cache
def presigning_client() -> Any:
    """The S3 client that signs links: SigV4 (botocore's default pre-signs SigV2 in us-east-1, which S3 refuses
    for buckets created since 2020 and which cannot sign the content length); path-style against a local
    endpoint (moto) so links resolve on loopback."""
    local = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return boto3.client("s3", config=_CONFIG.merge(Config(
        signature_version="s3v4", s3={"addressing_style": "path" if local else "virtual"})))


@cache
def table(name: str) -> Any:
    return boto3.resource("dynamodb", config=_CONFIG).Table(name)
