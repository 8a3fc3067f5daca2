#!/usr/bin/env python3
"""Starts the moto server (same arguments as `moto_server`) with two additions for our tests.

TransactWriteItems, as DynamoDB does it, at DynamoDB's cost. moto's `transact_write_items` takes
a `copy.deepcopy` of every table the transaction names (once per *item* of the transaction),
applies the operations one by one to the live table, and on failure puts the copies back in
place of the tables. A 100-item transaction on a table of N items therefore copied 100 × N items
(an earlier version of this file copied each table once per transaction: still N per
transaction, stream records included). `infra bench-ingest` (debug build, shared machine):
10,000 rows issued 8,500 in 835 s before ingest's time budget ran out with that copy, and
complete in 46 s with the undo log below; 100,000 rows complete in 642 s.

Here the transaction keeps an undo log instead: before the transaction first reads or writes an
item, the log records the item's previous value (a deep copy of that one item, since moto's
Update changes items in place) or its absence, plus, for each table it touches, the table's
stream shard and how many records it held. moto's own code still runs every operation, decides
every acceptance and rejection (TransactionCanceledException and its CancellationReasons, the
ValidationException for two operations on one item, ...) and answers; only its table copies are
skipped (`copy.deepcopy` of a Table answers the table itself while a transaction runs, so moto's
"restore" puts each table back in its own place). If the transaction fails, the log is replayed:

- The log is complete. Inside a transaction, moto changes a table only through `Table.put_item`
  (item created or replaced), `Table.delete_item` (item removed), in-place changes by Update to
  the item that `Table.get_item` just answered (or that `put_item` just created), the empty
  per-partition dict that `get_item` leaves behind in a table with a sort key (its items are a
  defaultdict of partition key → {sort key → item}), and stream records appended to the table's
  shard. The three methods log the key before they run (`get_item` alone would do: `put_item`
  and moto's Delete read the key first; the other two hooks are a guard), and the shard's length
  is logged when the transaction first touches the table.
- Replaying it restores exactly what moto's snapshot restored: each touched item to its previous
  value or absence, each partition dict created by the transaction removed, the shard's records
  cut back to what they were. Secondary indexes are not stored in moto (queries compute them
  from the items), so they follow. The only difference: an item deleted and then restored moves
  to the end of its dict; every read (get, query, scan, index) sorts by key, so none sees it.
- A cancelled transaction leaves no stream record, as in DynamoDB. Stream consumers keep working:
  moto's restore replaced the Table object and so its stream shard, and a shard iterator already
  handed out (the local stream runner keeps one) went on reading the old shard, which held the
  cancelled transaction's records and never received another one.
- A transaction whose items come to more than 4 MB is refused before it starts, as DynamoDB
  refuses it (`ValidationException`; moto took any size).
- A transaction that fails for any other reason (moto raises TransactWriteSingleOpException
  without restoring what it had already written) is undone too: in DynamoDB a rejected
  transaction writes nothing.

Writes are serialised by one lock (a transaction must not interleave with another write, and its
undo must not erase another request's write), as DynamoDB isolates transactions; with `--iam`
(the local stack, the tests) every request is.

With `--iam`, requests are authenticated and authorised, and one lock serves them one at a time
(see the end of this file).

A Query reads the one partition it names (on an index, the table's items unsorted) instead of
moto's sort of the whole table for each Query (see `_all_items`).

Every DynamoDB request is metered as DynamoDB would bill it (request units by item size, indexes,
transactions): `GET /_accolade/capacity` answers the totals, `POST` resets them (capacity.py;
checked by test_capacity.py, in `make test`).

`POST /_accolade/lag?table=…` makes that table's eventually consistent GetItem miss the items
written since, as a replica that has not caught up may (see `_lagged_read`); `DELETE` ends it.

`GET /moto-api/data.json?service=ses` answers only the named services (moto's own dump walks every
table and takes seconds once tests have written thousands of items).
"""
import copy as _copy
import sys
import threading

import capacity as _capacity_meter

from moto.dynamodb import models as _models
from moto.dynamodb.exceptions import MockValidationException as _MockValidationException
from moto.dynamodb.models.dynamo_type import DynamoType as _DynamoType
from moto.dynamodb.models.table import Table as _Table

_real_deepcopy = _copy.deepcopy
_local = threading.local()  # .undo: the running transaction's _UndoLog (None outside one)


class _UndoLog:
    """What a running transaction has touched, and what it held before."""

    def __init__(self):
        self.items = {}  # (id(table), partition key, sort key) -> (table, pk, sk, previous Item | None)
        self.partitions = {}  # (id(table), partition key) -> (table, pk, present before), sort-key tables
        self.streams = {}  # id(table) -> (table, shard, its records list, their number)

    def touch(self, table, hash_key, range_key):
        if table.range_key_attr is None:
            range_key = None
        elif range_key is None:
            return  # moto refuses such a key before it writes anything
        tid = id(table)
        if tid not in self.streams:
            shard = table.stream_shard
            records = shard.items if shard is not None else None
            self.streams[tid] = (table, shard, records, len(records) if records is not None else 0)
        slot = (tid, hash_key, range_key)
        if slot in self.items:
            return
        if table.range_key_attr is None:
            previous = table.items.get(hash_key)
        else:
            present = hash_key in table.items  # `in` and .get do not create a defaultdict entry
            self.partitions.setdefault((tid, hash_key), (table, hash_key, present))
            previous = table.items[hash_key].get(range_key) if present else None
        self.items[slot] = (table, hash_key, range_key, _real_deepcopy(previous))

    def undo(self):
        for table, hash_key, range_key, previous in self.items.values():
            if table.range_key_attr is None:
                if previous is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = previous
            elif previous is None:
                if hash_key in table.items:
                    table.items[hash_key].pop(range_key, None)
            else:
                table.items[hash_key][range_key] = previous
        for table, hash_key, present in self.partitions.values():
            if not present:
                table.items.pop(hash_key, None)
        for table, shard, records, count in self.streams.values():
            if shard is not None:
                del records[count:]
                shard.items = records  # moto's shard starts a new list after a Lambda delivery
            table.stream_shard = shard


def _logging(method, key):
    def wrapper(table, *args, **kwargs):
        log = getattr(_local, "undo", None)
        if log is not None:
            try:
                log.touch(table, *key(table, *args, **kwargs))
            except (KeyError, TypeError, ValueError, AttributeError):
                pass  # a malformed key (missing, unhashable): moto fails on it before writing
        return method(table, *args, **kwargs)

    return wrapper


def _get_item_key(table, hash_key, range_key=None, *_args, **_kwargs):
    return hash_key, range_key


def _put_item_key(table, item_attrs, *_args, **_kwargs):
    hash_key = _DynamoType(item_attrs[table.hash_key_attr])
    range_key = _DynamoType(item_attrs[table.range_key_attr]) if table.range_key_attr is not None else None
    return hash_key, range_key


_Table.get_item = _logging(_Table.get_item, _get_item_key)
_Table.delete_item = _logging(_Table.delete_item, _get_item_key)
_Table.put_item = _logging(_Table.put_item, _put_item_key)


class _NoTableCopyInTransaction:
    """Stands in for the `copy` module inside moto.dynamodb.models: within a transaction, a
    Table's "copy" is the table itself (the undo log does the rollback)."""

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, _Table) and getattr(_local, "undo", None) is not None:
            return value
        return _real_deepcopy(value, memo)

    copy = staticmethod(_copy.copy)


_original = _models.DynamoDBBackend.transact_write_items


_write_lock = threading.RLock()


# DynamoDB refuses a transaction whose items come to more than 4 MB, before any condition;
# moto takes any size. "4 MB" is read as 4,000,000 bytes, the stricter of its two readings, so
# nothing passes here that AWS could refuse.
TRANSACTION_BYTES = 4_000_000


def _transaction_bytes(transact_items):
    """The aggregate size of a transaction's items, as DynamoDB sizes items (capacity.py): a
    Put's item; for the other actions their key and the values they carry. (An Update's whole
    resulting item is not counted: our transactions' updates are of small counter items.)"""
    total = 0
    for item in transact_items:
        op = next(iter(item.values()), None) or {}
        total += _capacity_meter.item_size(op.get("Item") or op.get("Key") or {})
        total += sum(_capacity_meter.value_size(v) for v in (op.get("ExpressionAttributeValues") or {}).values())
    return total


def _transact_write_items(self, transact_items):
    if _transaction_bytes(transact_items) > TRANSACTION_BYTES:
        raise _MockValidationException("Transaction request cannot be larger than 4 MB")
    with _write_lock:
        log = _UndoLog()
        _local.undo = log
        try:
            return _original(self, transact_items)
        except BaseException:
            _local.undo = None
            log.undo()
            raise
        finally:
            _local.undo = None


def _serialised(method):
    def wrapper(*args, **kwargs):
        with _write_lock:
            return method(*args, **kwargs)

    return wrapper


_models.copy = _NoTableCopyInTransaction
_models.DynamoDBBackend.transact_write_items = _transact_write_items
for _name in ("put_item", "update_item", "delete_item", "batch_write_item"):
    setattr(_models.DynamoDBBackend, _name, _serialised(getattr(_models.DynamoDBBackend, _name)))

# DynamoDB Streams: reading from a sequence number before a shard's first record (one trimmed
# after 24 hours) is a TrimmedDataAccessException in AWS; moto fails an assertion (a 500).
from moto.core.exceptions import JsonRESTError as _JsonRESTError  # noqa: E402
from moto.dynamodb.models.table import StreamShard as _StreamShard  # noqa: E402

_original_shard_get = _StreamShard.get


def _shard_get(self, start, quantity):
    if start < self.starting_sequence_number:
        raise _JsonRESTError(
            "TrimmedDataAccessException",
            "The operation attempted to read past the oldest stream record in a shard.",
        )
    return _original_shard_get(self, start, quantity)


_StreamShard.get = _shard_get

# Query at DynamoDB's cost. moto's `Table.query` starts from `Table.all_items()`, every item of
# the table sorted by key, and keeps those of the partition (or, on an index, those whose index
# keys match): each Query sorted the whole table, so on a table of 100,000 awards (~600,000 items)
# one took about a second, where DynamoDB reads one partition. While a Query runs, `all_items`
# answers only what the Query can match: on the table, the one partition (a dict lookup; the
# Query sorts it by sort key itself), on an index every item unsorted (the Query sorts its matches
# by the index's keys and the table's, which are unique). What the Query answers is unchanged;
# `test_moto_transactions.py` checks it against moto's own on both paths.
_original_query = _Table.query
_original_all_items = _Table.all_items


def _query(self, hash_key, *args, **kwargs):
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    _local.query = ("index", None) if index_name else ("table", hash_key)
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        _local.query = None


def _all_items(self):
    query = getattr(_local, "query", None)
    if query is None:
        return _original_all_items(self)
    _local.query = None  # only the Query's own first call
    kind, hash_key = query
    if kind == "table":
        if hash_key is None:
            return _original_all_items(self)
        partition = self.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if self.range_key_attr else [partition]
    items = []
    for partition in list(self.items.values()):
        items.extend(partition.values() if self.range_key_attr else [partition])
    return items


_Table.query = _query
_Table.all_items = _all_items

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

# ---------------------------------------------------------------- IAM, one lock, the server
#
# `--iam`: every request is authenticated and authorised (moto's INITIAL_NO_AUTH_ACTION_COUNT=0).
# The launcher creates one administrator (fixed local credentials, for provisioning and for tests
# that inspect state), and `POST /_accolade/principal` creates one IAM user per Lambda function
# with the inline policy the local stack derived from template.yaml (the "deploy" step of the local
# stack; moto has no roles for Lambda to assume).
#
# One lock around every request: moto's backends are not thread-safe (a DynamoDB Query iterating
# a table while another thread writes to it raised "dictionary changed size during iteration",
# answered as HTTP 500 under load). Real AWS serves requests concurrently; here they are served one
# at a time, which on 2 cores costs little (moto holds the GIL anyway).

ADMIN_KEY_ID = "AKIAACCOLADELOCALADM"
ADMIN_SECRET = "accolade-local-administrator-secret-key0"
_request_lock = threading.Lock()


# The IAM action AWS checks for an S3 operation, where the two names differ ("Required
# permissions for Amazon S3 API operations", Amazon S3 User Guide). moto up to 5.2.5 checked
# these IAM names; 5.2.6 checks the operation's own name (`s3:CreateMultipartUpload`, which is
# not an IAM action: no policy can grant it), so a function allowed `s3:PutObject` could not
# upload a file in parts. Operations whose IAM action has their own name are not listed.
S3_IAM_ACTIONS = {
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "UploadPartCopy": "PutObject",
    "CopyObject": "PutObject",
    "ListParts": "ListMultipartUploadParts",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "HeadObject": "GetObject",
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "DeleteObjects": "DeleteObject",
    "ListBuckets": "ListAllMyBuckets",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "DeleteBucketTagging": "PutBucketTagging",
    "GetBucketReplication": "GetReplicationConfiguration",
    "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
}


def _check_s3_as_iam_does():
    """S3 requests are authorised on the IAM action AWS checks (S3_IAM_ACTIONS), whatever name
    the installed moto gives the operation."""
    from moto.iam.access_control import S3IAMRequest

    checked = S3IAMRequest.check_action_permitted

    def check_action_permitted(self, resource):
        service, _, operation = self._action.partition(":")
        self._action = f"{service}:{S3_IAM_ACTIONS.get(operation, operation)}"
        return checked(self, resource)

    S3IAMRequest.check_action_permitted = check_action_permitted


def _iam_backend():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    return iam_backends[DEFAULT_ACCOUNT_ID]["global"]


def _create_principal(name, policy, key_id=None, secret=None):
    iam = _iam_backend()
    try:
        iam.get_user(name)
    except Exception:  # noqa: BLE001 - moto raises its own NoSuchEntity
        iam.create_user(region_name="us-east-1", user_name=name, path="/", tags=[])
    iam.put_user_policy(name, "policy", _json.dumps(policy))
    for old in list(iam.list_access_keys(name)):
        iam.delete_access_key(old.access_key_id, name)
    key = iam.create_access_key(name)
    if key_id:
        del iam.access_keys[key.physical_resource_id]
        key.access_key_id, key.secret_access_key = key_id, secret
        iam.access_keys[key.physical_resource_id] = key
    return {"access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key}


def _deny(environ, start_response):
    """What AWS answers a request its caller's policy does not allow. The local stack's policy
    check (infra/src/iam.rs) sends such requests here instead of to the emulator."""
    q = {k: v[0] for k, v in _parse_qs(environ.get("QUERY_STRING", "")).items()}
    action, resource = q.get("action", "?"), q.get("resource", "?")
    message = (
        f"User: arn:aws:sts::123456789012:assumed-role/{q.get('principal', '?')}/local "
        f"is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    status = "400 Bad Request" if action.startswith("dynamodb:") else "403 Forbidden"
    body = _json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException", "message": message, "Message": message}).encode()
    sys.stderr.write(f"denied: {message}\n")
    start_response(
        status,
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-ErrorType", "AccessDeniedException"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


def _presigned(environ, start_response):
    """A presigned URL (query-string authentication): moto's IAM check reads only the
    Authorization header (KeyError without one), so the query's credential becomes that header,
    and the signer's policy decides, as in S3. An expired URL, or one whose signature does not
    match the request, is refused as S3 refuses it."""
    import datetime

    q = {k: v[0] for k, v in _parse_qs(environ.get("QUERY_STRING", "")).items()}
    signed = datetime.datetime.strptime(q.get("X-Amz-Date", "19700101T000000Z"), "%Y%m%dT%H%M%SZ")
    expires = signed + datetime.timedelta(seconds=int(q.get("X-Amz-Expires", "0")))
    if datetime.datetime.utcnow() > expires:
        body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return body
    wrong = _signature_problem(environ, q)
    if wrong:
        body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{wrong}</Code><Message>{wrong}</Message></Error>".encode()
        sys.stderr.write(f"presigned request refused: {wrong}\n")
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return body
    environ["HTTP_AUTHORIZATION"] = (
        f"AWS4-HMAC-SHA256 Credential={q.get('X-Amz-Credential', '')}, "
        f"SignedHeaders={q.get('X-Amz-SignedHeaders', '')}, Signature={q.get('X-Amz-Signature', '')}"
    )
    environ.setdefault("HTTP_X_AMZ_DATE", q.get("X-Amz-Date", ""))
    return None


def _signature_problem(environ, q):
    """S3's check of a presigned URL's SigV4 signature (moto does none): the method, path, query
    and every signed header — `content-length` included — must be what was signed, so a
    tampered URL or an upload of another length is refused as S3 refuses it. Answers the S3
    error code, or None."""
    import hashlib
    import hmac
    from urllib.parse import parse_qsl, quote

    key_id, date, region, service, _ = (q.get("X-Amz-Credential", "") + "////").split("/")[:5]
    secret = ADMIN_SECRET if key_id == ADMIN_KEY_ID else None
    for key in list(_iam_backend().access_keys.values()):
        if key.access_key_id == key_id:
            secret = key.secret_access_key
    if secret is None:
        return "InvalidAccessKeyId"
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", "/"))
    path = raw.split("?", 1)[0]
    pairs = [(k, v) for k, v in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True) if k != "X-Amz-Signature"]
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))
    names = q.get("X-Amz-SignedHeaders", "").split(";")
    def header(name):
        if name == "content-length":
            return environ.get("CONTENT_LENGTH") or "0"
        if name == "content-type":
            return environ.get("CONTENT_TYPE", "")
        return environ.get("HTTP_" + name.upper().replace("-", "_"), "")
    headers = "".join(f"{n}:{' '.join(header(n).split())}\n" for n in names)
    canonical = "\n".join([environ["REQUEST_METHOD"], path, query, headers, ";".join(names), "UNSIGNED-PAYLOAD"])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", q.get("X-Amz-Date", ""), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, q.get("X-Amz-Signature", "")) else "SignatureDoesNotMatch"


def _preflight(environ, start_response):
    """A CORS preflight to S3, answered from the bucket's CORS rules as S3 answers it (no
    credentials; with IAM on, moto would try to authenticate it)."""
    import fnmatch

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    bucket_name = environ.get("PATH_INFO", "/").lstrip("/").split("/")[0]
    origin = environ.get("HTTP_ORIGIN", "")
    method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "")
    asked = [h.strip().lower() for h in environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").split(",") if h.strip()]
    try:
        rules = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(bucket_name).cors
    except Exception:  # noqa: BLE001 - no such bucket
        rules = []
    for rule in rules:
        if (
            any(fnmatch.fnmatchcase(origin, o) for o in rule.allowed_origins)
            and method in rule.allowed_methods
            and all(any(fnmatch.fnmatchcase(h, a.lower()) for a in (rule.allowed_headers or [])) for h in asked)
        ):
            headers = [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods)),
                ("Access-Control-Allow-Headers", ", ".join(asked)),
                ("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
                ("Content-Length", "0"),
            ]
            if rule.max_age_seconds:
                headers.append(("Access-Control-Max-Age", str(rule.max_age_seconds)))
            start_response("200 OK", headers)
            return [b""]
    body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessForbidden</Code><Message>CORSResponse: This CORS request is not allowed.</Message></Error>"
    start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _capacity(environ, start_response):
    """`GET`: the request units DynamoDB would have billed so far, by operation; `POST`: reset."""
    table = (_parse_qs(environ.get("QUERY_STRING", "")).get("table") or [None])[0]
    if environ["REQUEST_METHOD"] == "POST":
        _capacity_meter.METER.reset(table)
    body = _json.dumps(_capacity_meter.METER.snapshot(table)).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


# Eventually consistent reads, as DynamoDB may answer them: "An eventually consistent read
# might not reflect the results of a recently completed write" (Developer Guide, "Read
# consistency"). moto answers every read from the one copy it has. For a table a test names in
# `POST /_accolade/lag?table=…` (`DELETE`: stop), an eventually consistent GetItem of an item
# written after that answers as a replica that has not caught up: no item. Strongly consistent
# reads see it. Only GetItem is modelled (the reads that decide on an item just written).
_lagging = {}  # table name -> set of written keys (canonical JSON of the key attributes)


def _key_of(table_name, attrs):
    table = _capacity_meter._table(table_name)
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return _json.dumps({n: attrs.get(n) for n in names}, sort_keys=True)


def _lag(environ, start_response):
    table = (_parse_qs(environ.get("QUERY_STRING", "")).get("table") or [""])[0]
    if environ["REQUEST_METHOD"] == "POST":
        _lagging[table] = set()
    else:
        _lagging.pop(table, None)
    start_response("204 No Content", [])
    return [b""]


def _lagged_read(action, request):
    """The answer of a replica that has not seen the item yet, or None to run the request."""
    if action == "GetItem" and not request.get("ConsistentRead"):
        written = _lagging.get(request.get("TableName"))
        if written is not None and _key_of(request["TableName"], request["Key"]) in written:
            return b"{}"
    return None


def _note_writes(action, request):
    for table, attrs, _tx in _capacity_meter._writes(action, request):
        if table in _lagging and attrs:
            _lagging[table].add(_key_of(table, attrs))


def _metered(inner, environ, start_response):
    """One request; a DynamoDB one is metered (capacity.py)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not target.startswith("DynamoDB_20120810."):
        return [b"".join(inner(environ, start_response))]
    import io

    size = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(size)
    environ["wsgi.input"] = io.BytesIO(raw)
    answered = {}

    def capture(status, headers, exc_info=None):
        answered["status"] = int(status.split()[0])
        return start_response(status, headers, exc_info)

    def run():
        body = b"".join(inner(environ, capture))
        return answered.get("status", 500), body

    try:
        request = _json.loads(raw or b"{}")
    except ValueError:
        return [run()[1]]
    action = target.split(".", 1)[1]
    if _lagging:
        lagged = _lagged_read(action, request)
        if lagged is not None:
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(lagged)))])
            return [lagged]
    status, body = _capacity_meter.METER.request(action, request, run)
    if _lagging and status < 300 and action in _capacity_meter.WRITE_ACTIONS:
        _note_writes(action, request)
    return [body]


def _app(inner):
    import traceback

    def app(environ, start_response):
        if environ["REQUEST_METHOD"] == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            with _request_lock:
                return _preflight(environ, start_response)
        presigned = "X-Amz-Credential=" in environ.get("QUERY_STRING", "")
        # A CORS preflight carries no credentials (S3 answers it from the bucket's CORS rules).
        if presigned and environ["REQUEST_METHOD"] != "OPTIONS" and "HTTP_AUTHORIZATION" not in environ:
            refused = _presigned(environ, start_response)
            if refused is not None:
                return [refused]
        if environ.get("PATH_INFO") == "/_accolade/principal" and environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            req = _json.loads(environ["wsgi.input"].read(size) or b"{}")
            with _request_lock:
                creds = _create_principal(req["name"], req["policy"])
            body = _json.dumps(creds).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == "/_accolade/deny":
            return _deny(environ, start_response)
        if environ.get("PATH_INFO") == "/_accolade/capacity":
            return _capacity(environ, start_response)
        if environ.get("PATH_INFO") == "/_accolade/lag":
            with _request_lock:
                return _lag(environ, start_response)
        with _request_lock:
            try:
                return _metered(inner, environ, start_response)
            except Exception:
                sys.stderr.write(traceback.format_exc())
                sys.stderr.flush()
                raise

    return app


def main():
    import argparse
    import os
    import signal

    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--iam", action="store_true", help="authenticate and authorise every request")
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    from moto import settings
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    if args.iam:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        # moto's SigV4 check miscomputes some requests' signatures (Scheduler's ListSchedules
        # with a query string: SignatureDoesNotMatch for a correct request). Signing is the SDK's
        # business; the caller is still authenticated (its access key must exist) and authorised.
        from moto.iam.access_control import IAMRequestBase

        IAMRequestBase.check_signature = lambda self: None
        _check_s3_as_iam_does()
        _create_principal(
            "accolade-admin",
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
            ADMIN_KEY_ID,
            ADMIN_SECRET,
        )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    inner = DomainDispatcherApplication(create_backend_app)
    sys.stderr.write(f"moto on {args.host}:{args.port} (iam={'on' if args.iam else 'off'})\n")
    sys.stderr.flush()
    run_simple(args.host, args.port, _app(inner), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    sys.exit(main())
