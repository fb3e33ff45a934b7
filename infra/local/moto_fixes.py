"""Two fixes to moto's DynamoDB for the local stack (moto in server mode serves many threads at once).

1. Atomicity. DynamoDB applies each conditional write and transaction atomically; moto's threaded server does
   not (two concurrent transactions can both pass a condition), and its reads are not safe against concurrent
   writes either (a read of a missing partition inserts into the table's defaultdict, which a concurrent
   iteration then trips over). One lock around moto's DynamoDB operations restores the guarantees the adapters
   rely on (quotas, leases, dedup, the contact center's capacity). moto runs under the GIL anyway, so the lock
   costs nothing measurable.
2. Transactions in O(items), not O(table). moto deep-copies every table a transaction touches to be able to roll
   it back, which makes each transaction cost as much as the whole table (seconds on the integration tests'
   table). Here a transaction snapshots only the items it names and restores those on failure.
3. Base-table queries in O(partition), not O(table). moto's Table.query sorts every item of the table and then
   filters by the hash key, so a query costs as much as the table (a 100,000-recipient broadcast queries one
   bucket of 100 items at a time). Here a query by hash key on the table itself reads only that partition.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from typing import Any

_OPERATIONS = ("put_item", "update_item", "delete_item", "batch_write_item", "get_item", "query", "scan",
               "batch_get_item", "transact_get_items")


def _fast_transactions(original: Any) -> Any:
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType

    no_table_copy = types.SimpleNamespace(deepcopy=lambda value, *args, **kwargs: value)

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        snapshots = []
        for entry in transact_items:
            if len(entry) != 1:
                return original(self, transact_items)  # moto's own validation error
            op_type, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                return original(self, transact_items)
            attrs = op.get("Item") if op_type == "Put" else op.get("Key")
            if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
                return original(self, transact_items)
            hash_value = DynamoType(attrs[table.hash_key_attr])
            range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
            existing = table.items.get(hash_value, {}).get(range_value) if range_value is not None \
                else table.items.get(hash_value)
            snapshots.append((table, hash_value, range_value, copy.deepcopy(existing)))
        saved = models.copy
        models.copy = no_table_copy  # type: ignore[assignment]
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(snapshots):
                if range_value is None:
                    if item is None:
                        table.items.pop(hash_value, None)
                    else:
                        table.items[hash_value] = item
                elif item is None:
                    table.items.get(hash_value, {}).pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = item
            raise
        finally:
            models.copy = saved  # type: ignore[assignment]

    return transact_write_items


def _partition_queries(original: Any) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    @functools.wraps(original)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None or not isinstance(hash_key, DynamoType) or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        partition = sorted(self.items.get(hash_key, {}).values(), key=lambda x: (x.hash_key, x.range_key))
        self.all_items = lambda: partition  # what the original query filters: only this partition
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    return query


def patch_moto_dynamodb() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_omnichannel_patched", False):
        return
    lock = threading.RLock()

    def guarded(original: Any) -> Any:
        @functools.wraps(original)
        def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(self, *args, **kwargs)

        return locked

    for name in _OPERATIONS:
        setattr(DynamoDBBackend, name, guarded(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = guarded(  # type: ignore[method-assign]
        _fast_transactions(DynamoDBBackend.transact_write_items))
    from moto.dynamodb.models.table import Table

    Table.query = _partition_queries(Table.query)  # type: ignore[method-assign]
    DynamoDBBackend._omnichannel_patched = True  # type: ignore[attr-defined]
