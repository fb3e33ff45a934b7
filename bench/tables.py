"""The application table (keys and GSIs from infra.topology) created in an in-process moto mock, for benches that
count the DynamoDB calls of real adapters."""

from __future__ import annotations

from typing import Any


def create_table(ddb: Any, name: str) -> Any:
    from infra import topology

    spec = topology.TABLE
    return ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in
                              ("pk", "sk", *(x for g in spec.gsis for x in (g.pk, g.sk)))],
        GlobalSecondaryIndexes=[{"IndexName": g.name, "KeySchema": [
            {"AttributeName": g.pk, "KeyType": "HASH"}, {"AttributeName": g.sk, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}} for g in spec.gsis])
