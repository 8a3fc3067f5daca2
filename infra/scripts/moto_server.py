#!/usr/bin/env python3
"""Starts the moto server (same arguments as `moto_server`) with one performance fix.

moto's TransactWriteItems snapshots the target table for rollback with `copy.deepcopy` once per
*item* of the transaction, so a 100-item transaction on a table of N items copies 100 × N items
and bulk issuance becomes quadratic (minutes for a few thousand rows). Here each table is copied
once per transaction. What moto accepts, rejects and stores is unchanged; real DynamoDB has no
such cost.
"""
import copy as _copy
import sys
import threading

from moto.dynamodb import models as _models
from moto.dynamodb.models.table import Table as _Table

_real_deepcopy = _copy.deepcopy
_local = threading.local()


class _CopyOncePerTransaction:
    """Stands in for the `copy` module inside moto.dynamodb.models."""

    @staticmethod
    def deepcopy(value, memo=None):
        cache = getattr(_local, "cache", None)
        if cache is not None and isinstance(value, _Table):
            if id(value) not in cache:
                cache[id(value)] = _real_deepcopy(value, memo)
            return cache[id(value)]
        return _real_deepcopy(value, memo)

    copy = staticmethod(_copy.copy)


_original = _models.DynamoDBBackend.transact_write_items


def _transact_write_items(self, transact_items):
    _local.cache = {}
    try:
        return _original(self, transact_items)
    finally:
        _local.cache = None


_models.copy = _CopyOncePerTransaction
_models.DynamoDBBackend.transact_write_items = _transact_write_items

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
