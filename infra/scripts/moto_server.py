#!/usr/bin/env python3
"""Starts the moto server (same arguments as `moto_server`) with two additions for our tests.

moto's TransactWriteItems snapshots the target table for rollback with `copy.deepcopy` once per
*item* of the transaction, so a 100-item transaction on a table of N items copies 100 × N items
and bulk issuance becomes quadratic (minutes for a few thousand rows). Here each table is copied
once per transaction. What moto accepts, rejects and stores is unchanged; real DynamoDB has no
such cost.

moto rolls a failed transaction back by restoring that snapshot, which also erases whatever
another request wrote to the table meanwhile (moto serves requests on several threads). Real
DynamoDB isolates transactions, so here DynamoDB writes are serialised with one lock.

`GET /moto-api/data.json?service=ses` answers only the named services (moto's own dump walks every
table and takes seconds once tests have written thousands of items).
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


_write_lock = threading.RLock()


def _transact_write_items(self, transact_items):
    with _write_lock:
        _local.cache = {}
        try:
            return _original(self, transact_items)
        finally:
            _local.cache = None


def _serialised(method):
    def wrapper(*args, **kwargs):
        with _write_lock:
            return method(*args, **kwargs)

    return wrapper


_models.copy = _CopyOncePerTransaction
_models.DynamoDBBackend.transact_write_items = _transact_write_items
for _name in ("put_item", "update_item", "delete_item", "batch_write_item"):
    setattr(_models.DynamoDBBackend, _name, _serialised(getattr(_models.DynamoDBBackend, _name)))

import json as _json  # noqa: E402
from urllib.parse import parse_qs as _parse_qs, urlparse as _urlparse  # noqa: E402

from moto.moto_api._internal import responses as _api  # noqa: E402

_original_model_data = _api.MotoAPIResponse.model_data


def _model_data(self, request, full_url, headers):
    only = _parse_qs(_urlparse(full_url).query).get("service")
    if not only:
        return _original_model_data(self, request, full_url, headers)
    from moto.core.model_instances import model_data

    results = {}
    for service in sorted(s for s in list(model_data) if s in only):
        models = model_data[service]
        results[service] = {}
        for name in sorted(models):
            results[service][name] = []
            for instance in list(models[name].instances_tracked):
                item = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        _json.dumps(value)
                    except (TypeError, AttributeError, ValueError):
                        continue
                    item[attr] = value
                results[service][name].append(item)
    return 200, {"Content-Type": "application/json"}, _json.dumps(results)


_api.MotoAPIResponse.model_data = _model_data

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
