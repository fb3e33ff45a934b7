"""Fixes to moto for the local stack (moto in server mode serves many threads at once).

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
   bucket of 100 items at a time). Here a query by hash key on the table itself reads only that partition, and
   an index query filters the items unsorted (it sorts its matches itself), so it costs one pass, not a sort.
4. SQS FIFO groups under concurrent receivers. moto decides which groups are in flight at the start of each
   ReceiveMessage without a lock, so two pollers receiving at once can both get messages of one group (order
   lost). Here the SQS operations that read or change a queue's messages run under one lock, and a long poll
   waits outside it, so several pollers can feed a FIFO queue's consumer the way Lambda does (one batch per
   group in flight, many groups at once).
5. EventBridge deliveries without re-building a parser. moto renders each event for each target with jsonpath_ng,
   whose parse() builds a yacc parser every call (about a twentieth of the local stack's CPU); the few paths are
   parsed once here.
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


def _unsorted_items(table: Any) -> list[Any]:
    if not table.range_key_attr:
        return list(table.items.values())
    return [item for partition in table.items.values() for item in partition.values()]


def _partition_queries(original: Any) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    @functools.wraps(original)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None:  # an index query filters every item, then sorts the matches itself
            self.all_items = lambda: _unsorted_items(self)
        elif isinstance(hash_key, DynamoType) and self.range_key_attr:
            partition = sorted(self.items.get(hash_key, {}).values(), key=lambda x: (x.hash_key, x.range_key))
            self.all_items = lambda: partition  # what the original query filters: only this partition
        else:
            return original(self, hash_key, *args, **kwargs)
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    return query


def _locked(lock: Any, original: Any) -> Any:
    """`original` (a backend method) run under `lock`."""

    @functools.wraps(original)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    return locked


def _serialize(backend: Any, names: tuple[str, ...]) -> Any:
    """These methods of a moto backend, run under one new lock (returned for wrappers that need it too)."""
    lock = threading.RLock()
    for name in names:
        setattr(backend, name, _locked(lock, getattr(backend, name)))
    return lock


def patch_moto_dynamodb() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_omnichannel_patched", False):
        return
    lock = _serialize(DynamoDBBackend, _OPERATIONS)
    DynamoDBBackend.transact_write_items = _locked(  # type: ignore[method-assign]
        lock, _fast_transactions(DynamoDBBackend.transact_write_items))
    from moto.dynamodb.models.table import Table

    Table.query = _partition_queries(Table.query)  # type: ignore[method-assign]
    DynamoDBBackend._omnichannel_patched = True  # type: ignore[attr-defined]


def patch_moto_events() -> None:
    import jsonpath_ng.ext

    if getattr(jsonpath_ng.ext, "_omnichannel_patched", False):
        return
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)  # moto imports it per call
    jsonpath_ng.ext._omnichannel_patched = True  # type: ignore[attr-defined]


_SQS_OPERATIONS = ("send_message", "send_message_batch", "delete_message", "delete_message_batch",
                   "change_message_visibility", "change_message_visibility_batch", "purge_queue")
SQS_POLL_INTERVAL_S = 0.05  # how often a waiting ReceiveMessage looks again


def patch_moto_sqs() -> None:
    import time

    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend, "_omnichannel_patched", False):
        return
    lock = _serialize(SQSBackend, _SQS_OPERATIONS)
    original_receive = SQSBackend.receive_message

    @functools.wraps(original_receive)
    def receive_message(self: Any, queue_name: str, count: int, wait_seconds_timeout: int,
                        *args: Any, **kwargs: Any) -> Any:
        deadline = unix_time() + (wait_seconds_timeout or 0)
        while True:
            with lock:
                result = original_receive(self, queue_name, count, 0, *args, **kwargs)
            if result or unix_time() >= deadline:
                return result
            time.sleep(SQS_POLL_INTERVAL_S)

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    SQSBackend._omnichannel_patched = True  # type: ignore[attr-defined]
