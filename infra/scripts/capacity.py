"""What each DynamoDB request would consume in DynamoDB, by DynamoDB's billing rules.

moto answers `ConsumedCapacity` with fixed numbers, so the local server meters requests itself:
`moto_server.py` hands every DynamoDB request to `Meter.request`, which reads the items the
request touches before and after it runs and adds the request units DynamoDB would bill
(on-demand mode). `GET /_accolade/capacity` answers the totals by operation (`?table=` one table's), `POST` resets
them (`?table=`: one table's);
`infra bench-cost` turns them into dollars (docs/performance.md).

The rules (AWS, "Read/write capacity mode" and "Item sizes and formats" in the DynamoDB Developer
Guide):

- An item's size: for each attribute, the UTF-8 length of its name plus its value: a string or
  binary its length, a number 1 byte per two significant digits + 1, a boolean or null 1, a
  set the sum of its members, a list or map 3 bytes + 1 byte per element + the elements (map
  keys count as names).
- Writes (PutItem, UpdateItem, DeleteItem, each BatchWriteItem request): 1 write request unit
  (WRU) per KB of the larger of the item before and after, at least 1; in TransactWriteItems
  twice that (a ConditionCheck too). A write whose condition fails still consumes it.
- Each global secondary index the write changes: 1 WRU per KB of the index entry (the item for
  an ALL projection, the keys for KEYS_ONLY); 2 writes when the index key changes (delete +
  put), none when the item is in the index neither before nor after, or when nothing projected
  changed. Not doubled in transactions (index propagation is not transactional).
- Reads: 1 read request unit (RRU) per 4 KB of the item for a strongly consistent GetItem (or
  each BatchGetItem key), half for an eventually consistent one, at least one unit even when the
  item does not exist. Query and Scan: the sizes of all items read summed, then rounded up to
  4 KB (projections do not reduce it: the whole item is read). A query on a KEYS_ONLY index reads
  the index entries.

Not modelled: the 100-byte per-item index overhead (storage, not requests), transactions that
fail midway (counted as if each item's condition failed), streams (reads by a Lambda trigger
are free) and TTL deletions (free).
"""
import decimal
import json
import math
import sys
import threading

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

WRITE_ACTIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
READ_ACTIONS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


def value_size(v):
    v = v if isinstance(v, DynamoType) else DynamoType(v)
    t, x = v.type, v.value
    if t == "N":
        return number_size(x)
    if t in ("S",):
        return len(x.encode("utf-8"))
    if t == "B":
        return len(x) if isinstance(x, bytes) else len(_b64(x))
    if t in ("BOOL", "NULL"):
        return 1
    if t == "SS":
        return sum(len(s.encode("utf-8")) for s in x)
    if t == "NS":
        return sum(number_size(n) for n in x)
    if t == "BS":
        return sum(len(_b64(b)) for b in x)
    if t == "L":
        return 3 + sum(1 + value_size(e) for e in x)
    if t == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(e) for k, e in x.items())
    raise ValueError(f"unknown DynamoDB type {t}")


def number_size(n):
    digits = decimal.Decimal(str(n)).normalize().as_tuple().digits
    significant = len(digits) or 1
    return math.ceil(significant / 2) + 1


def _b64(s):
    import base64

    return base64.b64decode(s)


def item_size(attrs):
    return sum(len(k.encode("utf-8")) + value_size(v) for k, v in attrs.items())


def _table(name):
    return dynamodb_backends["123456789012"]["us-east-1"].get_table(name)


def _key(table, attrs):
    h = attrs.get(table.hash_key_attr)
    r = attrs.get(table.range_key_attr) if table.range_key_attr else None
    return (DynamoType(h) if h else None, DynamoType(r) if r else None)


def _item(table, attrs):
    """The stored item with the key in `attrs` (wire JSON), as attrs, or None."""
    h, r = _key(table, attrs)
    if h is None:
        return None
    try:
        found = table.get_item(h, r)
    except Exception:
        return None
    return dict(found.attrs) if found is not None else None


class _State:
    """One item's billing-relevant state: its size and its entry in each global index."""

    def __init__(self, table, attrs):
        self.size = item_size(attrs) if attrs else 0
        self.entries = {}
        if not attrs:
            return
        table_keys = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        for index in table.global_indexes:
            names = [k["AttributeName"] for k in index.schema]
            if not all(n in attrs for n in names):
                continue
            if index.projection.get("ProjectionType") == "KEYS_ONLY":
                projected = {n: attrs[n] for n in set(names + table_keys) if n in attrs}
            else:
                projected = attrs
            key = tuple(json.dumps(_plain(attrs[n]), sort_keys=True) for n in names)
            body = json.dumps({k: _plain(v) for k, v in projected.items()}, sort_keys=True)
            self.entries[index.name] = (key, item_size(projected), body)


def _plain(v):
    v = v if isinstance(v, DynamoType) else DynamoType(v)
    x = v.value
    if v.type == "L":
        x = [_plain(e) for e in x]
    elif v.type == "M":
        x = {k: _plain(e) for k, e in x.items()}
    elif isinstance(x, bytes):
        x = x.hex()
    elif isinstance(x, (set, frozenset)):
        x = sorted(x)
    return {v.type: x}


def _kb(size):
    return max(1, math.ceil(size / 1024))


def index_writes(before, after):
    """WRUs of the global index writes that turn `before` into `after`."""
    units = 0
    for name in set(before.entries) | set(after.entries):
        old, new = before.entries.get(name), after.entries.get(name)
        if old and new and old[0] == new[0]:
            units += _kb(new[1]) if old[2] != new[2] else 0
        else:
            units += (_kb(old[1]) if old else 0) + (_kb(new[1]) if new else 0)
    return units


def _writes(action, body):
    """(table, attrs naming the key, transactional) of each item a write touches."""
    if action == "PutItem":
        return [(body["TableName"], body["Item"], False)]
    if action in ("UpdateItem", "DeleteItem"):
        return [(body["TableName"], body["Key"], False)]
    if action == "BatchWriteItem":
        out = []
        for table, requests in body.get("RequestItems", {}).items():
            for r in requests:
                if "PutRequest" in r:
                    out.append((table, r["PutRequest"]["Item"], False))
                elif "DeleteRequest" in r:
                    out.append((table, r["DeleteRequest"]["Key"], False))
        return out
    out = []
    for t in body.get("TransactItems", []):
        (_, op), = t.items()
        out.append((op["TableName"], op.get("Item") or op.get("Key"), True))
    return out


class Meter:
    def __init__(self):
        self.lock = threading.Lock()
        self.totals = {}
        self.local = threading.local()  # .ran: this thread's request's answer, once it ran

    def snapshot(self, table=None):
        """Totals by operation, of one table's requests or of all."""
        with self.lock:
            out = {}
            for name, actions in self.totals.items():
                if table not in (None, name):
                    continue
                for action, t in actions.items():
                    o = out.setdefault(action, {"requests": 0, "rru": 0.0, "wru": 0, "index_wru": 0})
                    for k, v in t.items():
                        o[k] = o.get(k, 0) + v
            return out

    def reset(self, table=None):
        with self.lock:
            if table is None:
                self.totals = {}
            else:
                self.totals.pop(table, None)

    def _add(self, table, action, rru=0.0, wru=0, index_wru=0):
        with self.lock:
            t = self.totals.setdefault(table, {}).setdefault(
                action, {"requests": 0, "rru": 0.0, "wru": 0, "index_wru": 0}
            )
            t["requests"] += 1
            t["rru"] += rru
            t["wru"] += wru
            t["index_wru"] += index_wru

    def request(self, action, body, run):
        """Runs the request (`run()` answers (status, response body bytes)) and meters it. A
        request the meter cannot read is run all the same, unmetered, and counted as such."""
        try:
            return self._request(action, body, run)
        except Exception as e:  # the meter must never change what the emulator answers
            sys.stderr.write(f"capacity: {action} not metered: {e!r}\n")
            self._add(body.get("TableName", "?") if isinstance(body, dict) else "?", "unmetered")
            ran = getattr(self.local, "ran", None)
            return ran if ran is not None else run()

    def _request(self, action, body, run):
        self.local.ran = None
        if action in WRITE_ACTIONS:
            touched = [(_table(t), attrs, tx) for t, attrs, tx in _writes(action, body)]
            before = [(_State(table, _item(table, attrs)), table, attrs, tx) for table, attrs, tx in touched]
            status, response = self.local.ran = run()
            by_table = {}
            for old, table, attrs, tx in before:
                new = _State(table, _item(table, attrs)) if status < 300 else old
                units = by_table.setdefault(table.name, [0, 0])
                units[0] += _kb(max(old.size, new.size)) * (2 if tx else 1)
                units[1] += index_writes(old, new)
            for name, (wru, index_wru) in by_table.items():
                self._add(name, action, wru=wru, index_wru=index_wru)
            return status, response
        status, response = self.local.ran = run()
        if action in READ_ACTIONS and status < 300:
            for name, rru in self._reads(action, body, json.loads(response or b"{}")).items():
                self._add(name, action, rru=rru)
        return status, response

    def _reads(self, action, body, response):
        """Read units by table."""
        if action == "GetItem":
            size = _size_of(body["TableName"], body["Key"])
            return {body["TableName"]: _read_units([size], body.get("ConsistentRead"))}
        if action in ("BatchGetItem", "TransactGetItems"):
            units = {}
            for table, keys in body.get("RequestItems", {}).items():
                for key in keys.get("Keys", []):
                    units[table] = units.get(table, 0.0) + _read_units([_size_of(table, key)], keys.get("ConsistentRead"))
            for t in body.get("TransactItems", []):
                get = t["Get"]
                size = _size_of(get["TableName"], get["Key"])
                units[get["TableName"]] = units.get(get["TableName"], 0.0) + 2 * _read_units([size], True)
            return units
        table = _table(body["TableName"])
        index = next((i for i in table.global_indexes if i.name == body.get("IndexName")), None)
        keys_only = index is not None and index.projection.get("ProjectionType") == "KEYS_ONLY"
        sizes = []
        for item in response.get("Items", []):
            stored = _item(table, item) or {}
            if keys_only:
                names = [k["AttributeName"] for k in index.schema] + [table.hash_key_attr, table.range_key_attr]
                stored = {n: stored[n] for n in names if n and n in stored}
            sizes.append(item_size(stored))
        return {table.name: _read_units([sum(sizes)], body.get("ConsistentRead"))}


def _size_of(table_name, key):
    table = _table(table_name)
    item = _item(table, key)
    return item_size(item) if item else 0


def _read_units(sizes, consistent):
    units = sum(max(1, math.ceil(s / 4096)) for s in sizes)
    return units * (1.0 if consistent else 0.5)


METER = Meter()
