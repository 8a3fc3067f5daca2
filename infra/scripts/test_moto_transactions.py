#!/usr/bin/env python3
"""TransactWriteItems on our moto launcher (infra/scripts/moto_server.py) against moto itself.

The launcher rolls a failed transaction back from an undo log of the items it touched instead
of moto's copies of whole tables. This script runs the same requests on the launcher (started
here as a server, IAM on, as the local stack runs it) and on unpatched moto (moto's own server,
in this process, which never imports the launcher), and checks after every step that both answer the same (success, or the same error
code, message and CancellationReasons) and hold the same items (both tables scanned, a GSI
queried), and the same stream records (read from the start, without their random ids and
times). It also checks, on the launcher only, what DynamoDB does and moto did not:

- a cancelled transaction leaves every item exactly as it was (compared with the state before);
- a stream iterator handed out before a cancelled transaction sees none of its records, and
  does see the next successful write (moto replaced the table object on rollback, so such an
  iterator read the cancelled records and then nothing more);
- a request that moto rejects without rolling back (two operations in one TransactItem) writes
  nothing;
- a transaction whose items come to more than 4 MB is refused (ValidationException) and writes
  nothing, where moto took any size; one just under is written.

Usage: .venv/bin/python infra/scripts/test_moto_transactions.py [--launcher PATH]
Prints one line per check; exits 1 on the first failure.
"""
import argparse
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
TABLE, PLAIN = "Accolade", "Plain"


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def ok(message):
    print(f"ok: {message}")


# ---------------------------------------------------------------- the two backends


class Backend:
    def __init__(self, name, **client_args):
        self.name = name
        self.client_args = client_args  # endpoint and credentials, for clients of other services
        config = Config(retries={"max_attempts": 1, "mode": "standard"})
        self.ddb = boto3.client("dynamodb", region_name="us-east-1", config=config, **client_args)
        self.streams = boto3.client("dynamodbstreams", region_name="us-east-1", config=config, **client_args)

    def transact(self, items):
        """The answer: "ok", or (code, message, CancellationReasons)."""
        try:
            self.ddb.transact_write_items(TransactItems=items)
            return "ok"
        except ClientError as e:
            err = e.response.get("Error", {})
            return (err.get("Code"), err.get("Message"), e.response.get("CancellationReasons"))

    def state(self):
        """Every item of both tables, a GSI query, and the stream's records from the start."""
        out = {}
        for table in (TABLE, PLAIN):
            items = self.ddb.scan(TableName=table, ConsistentRead=True)["Items"]
            out[table] = sorted(items, key=repr)
        out["gsi"] = self.ddb.query(
            TableName=TABLE,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :p",
            ExpressionAttributeValues={":p": {"S": "BY-ISSUER"}},
        )["Items"]
        out["stream"] = [strip(r) for r in self.read_stream(self.iterator())]
        for i, query in enumerate(QUERIES):
            out[f"query {i}"] = self.query_pages(query)
        return out

    def query_pages(self, query):
        """Every page of a Query (2 items a page), each page's items and where it stopped."""
        pages, start = [], {}
        while True:
            out = self.ddb.query(Limit=2, **query, **start)
            pages.append((out["Items"], out.get("LastEvaluatedKey")))
            if "LastEvaluatedKey" not in out:
                return pages
            start = {"ExclusiveStartKey": out["LastEvaluatedKey"]}

    def stream_arn(self):
        return self.ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]

    def iterator(self):
        arn = self.stream_arn()
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        return self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]

    def read_stream(self, iterator, keep=None):
        records = []
        while True:
            out = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            records += out["Records"]
            iterator = out["NextShardIterator"]
            if not out["Records"]:
                break
        if keep is not None:
            keep[0] = iterator
        return records


def strip(record):
    d = dict(record["dynamodb"])
    d.pop("ApproximateCreationDateTime", None)
    d.pop("SizeBytes", None)  # counts the time's characters
    return {"eventName": record["eventName"], **d}


def difference(mine, theirs):
    """The first entry where two lists differ, for a readable failure."""
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if a != b:
            return f"entry {i}:\n  launcher {a!r}\n  moto     {b!r}"
    return f"{len(mine)} entries on the launcher, {len(theirs)} on moto; the extra: {(mine[len(theirs):] or theirs[len(mine):])!r}"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_launcher(launcher):
    source = Path(launcher).read_text()
    key_id = re.search(r'ADMIN_KEY_ID = "([^"]+)"', source).group(1)
    secret = re.search(r'ADMIN_SECRET = "([^"]+)"', source).group(1)
    port = free_port()
    log = open(HERE.parent.parent / "test-output" / "moto-transactions.log", "w")
    proc = subprocess.Popen(
        [sys.executable, launcher, "-H", "127.0.0.1", "-p", str(port), "--iam"], stdout=log, stderr=log
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                fail(f"the launcher exited (see {log.name})")
            time.sleep(0.1)
    else:
        fail("the launcher did not answer within 30 s")
    backend = Backend(
        "launcher",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
    return proc, backend


def with_launcher(checks, launcher=str(HERE / "moto_server.py")):
    """`checks(backend)` against a launcher started for it, stopped afterwards whatever happens."""
    (HERE.parent.parent / "test-output").mkdir(exist_ok=True)
    proc, backend = start_launcher(launcher)
    try:
        checks(backend)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------- the requests


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


def key(pk, sk):
    return {"PK": S(pk), "SK": S(sk)}


# Queries whose answers must not change with the launcher's Query (it reads the one partition, or
# the index's items unsorted, instead of the whole table sorted): the table and an index, forward
# and backward, with a sort-key condition, a filter, and a partition that does not exist.
QUERIES = [
    {"TableName": TABLE, "KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": S(f"ISSUER#{i}")}}
    for i in (0, 1, 2, 3, "NEW")
] + [
    {"TableName": TABLE, "KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": S("ISSUER#2")},
     "ScanIndexForward": False, "ConsistentRead": True},
    {"TableName": TABLE, "KeyConditionExpression": "PK = :p AND SK >= :s",
     "ExpressionAttributeValues": {":p": S("ISSUER#0"), ":s": S("AWARD#1")}},
    {"TableName": TABLE, "KeyConditionExpression": "PK = :p AND begins_with(SK, :s)",
     "FilterExpression": "#c > :n", "ExpressionAttributeNames": {"#c": "count"},
     "ExpressionAttributeValues": {":p": S("ISSUER#3"), ":s": S("AWARD#"), ":n": N(30)}},
    {"TableName": TABLE, "KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": S("NOBODY")}},
    {"TableName": PLAIN, "KeyConditionExpression": "id = :p", "ExpressionAttributeValues": {":p": S("p1")}},
    {"TableName": TABLE, "IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :p AND GSI1SK > :s",
     "ExpressionAttributeValues": {":p": S("BY-ISSUER"), ":s": S("1")}, "ScanIndexForward": False},
]


def setup(b):
    b.ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK", "GSI1SK")
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    b.ddb.create_table(
        TableName=PLAIN,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    for i in range(4):
        for j in range(3):
            b.ddb.put_item(
                TableName=TABLE,
                Item={
                    **key(f"ISSUER#{i}", f"AWARD#{j}"),
                    "GSI1PK": S("BY-ISSUER"),
                    "GSI1SK": S(f"{i}#{j}"),
                    "count": N(i * 10 + j),
                    "tags": {"SS": ["a", "b"]},
                },
            )
    for i in range(3):
        b.ddb.put_item(TableName=PLAIN, Item={"id": S(f"p{i}"), "v": N(i)})


def put(item, table=TABLE, **kw):
    return {"Put": {"TableName": table, "Item": item, **kw}}


def update(k, expr, values, table=TABLE, **kw):
    return {"Update": {"TableName": table, "Key": k, "UpdateExpression": expr, "ExpressionAttributeValues": values, **kw}}


def delete(k, table=TABLE, **kw):
    return {"Delete": {"TableName": table, "Key": k, **kw}}


def check(k, condition, table=TABLE, **kw):
    return {"ConditionCheck": {"TableName": table, "Key": k, "ConditionExpression": condition, **kw}}


# (name, request, expected answer: "ok", an error code, or None for "whatever moto answers",
#  whether the items must be left as they were)
STEPS = [
    (
        "a successful transaction of five operations on two tables",
        [
            put({**key("ISSUER#0", "AWARD#9"), "GSI1PK": S("BY-ISSUER"), "GSI1SK": S("0#9"), "count": N(1)}),
            update(key("ISSUER#1", "AWARD#0"), "ADD #c :one SET GSI1SK = :s", {":one": N(1), ":s": S("1#0b")},
                   ExpressionAttributeNames={"#c": "count"}),
            delete(key("ISSUER#1", "AWARD#1")),
            check(key("ISSUER#2", "AWARD#0"), "attribute_exists(PK)"),
            put({"id": S("p9"), "v": N(9)}, table=PLAIN),
        ],
        "ok",
        False,
    ),
    (
        "cancelled: the ConditionCheck of item 3 of 5 fails (new item and new partition, Update ADD, "
        "Delete, a replaced item in a table without sort key)",
        [
            put({**key("ISSUER#NEW", "AWARD#0"), "GSI1PK": S("BY-ISSUER"), "GSI1SK": S("9#0"), "count": N(1)}),
            update(key("ISSUER#2", "AWARD#1"), "ADD #c :one, tags :t SET GSI1SK = :s",
                   {":one": N(5), ":t": {"SS": ["z"]}, ":s": S("2#1b")}, ExpressionAttributeNames={"#c": "count"}),
            check(key("ISSUER#3", "AWARD#0"), "#c > :big", ExpressionAttributeNames={"#c": "count"},
                  ExpressionAttributeValues={":big": N(1000)}, ReturnValuesOnConditionCheckFailure="ALL_OLD"),
            delete(key("ISSUER#3", "AWARD#1")),
            put({"id": S("p1"), "v": N(100)}, table=PLAIN),
        ],
        "TransactionCanceledException",
        True,
    ),
    (
        "cancelled: a Put's own condition fails on item 1, an Update creating an item and a new item in an "
        "existing partition follow",
        [
            put({**key("ISSUER#0", "AWARD#0"), "count": N(0)}, ConditionExpression="attribute_not_exists(PK)"),
            update(key("ISSUER#0", "AWARD#7"), "ADD #c :one", {":one": N(1)}, ExpressionAttributeNames={"#c": "count"}),
            put({**key("ISSUER#3", "AWARD#5"), "count": N(3)}),
            update({"id": S("p0")}, "ADD v :one", {":one": N(1)}, table=PLAIN),
        ],
        "TransactionCanceledException",
        True,
    ),
    (
        "cancelled: a ConditionCheck on a table that does not exist, between writes",
        [
            put({**key("ISSUER#4", "AWARD#0"), "count": N(4)}),
            delete(key("ISSUER#0", "AWARD#1")),
            check({"id": S("x")}, "attribute_exists(id)", table="NoSuchTable"),
            delete({"id": S("p2")}, table=PLAIN),
        ],
        "TransactionCanceledException",
        True,
    ),
    (
        "rejected: a Delete without the sort key (ValidationException), after writes",
        [
            put({**key("ISSUER#4", "AWARD#1"), "count": N(4)}),
            delete({"PK": S("ISSUER#1")}),
        ],
        "ValidationException",
        True,
    ),
    (
        "rejected: two operations on one item (ValidationException), after writes",
        [
            put({**key("ISSUER#5", "AWARD#0"), "count": N(5)}),
            update(key("ISSUER#2", "AWARD#2"), "ADD #c :one", {":one": N(1)}, ExpressionAttributeNames={"#c": "count"}),
            check(key("ISSUER#5", "AWARD#0"), "attribute_exists(PK)"),
        ],
        "ValidationException",
        True,
    ),
    (
        "rejected: an Update of a key attribute (ValidationException), after writes",
        [
            put({"id": S("p5")}, table=PLAIN),
            update(key("ISSUER#0", "AWARD#2"), "SET SK = :s", {":s": S("other")}),
        ],
        "ValidationException",
        True,
    ),
    (
        "a successful transaction after the failed ones (the stream's sequence numbers go on)",
        [
            update(key("ISSUER#3", "AWARD#2"), "ADD #c :one", {":one": N(1)}, ExpressionAttributeNames={"#c": "count"}),
            delete(key("ISSUER#0", "AWARD#9")),
            put({**key("ISSUER#NEW", "AWARD#1"), "count": N(7)}),
        ],
        "ok",
        False,
    ),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--launcher", default=str(HERE / "moto_server.py"))
    args = parser.parse_args()
    (HERE.parent.parent / "test-output").mkdir(exist_ok=True)

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    reference = Backend(
        "moto",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    proc, launcher = start_launcher(args.launcher)
    try:
        run(launcher, reference)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        server.stop()


def run(launcher, reference):
    started = time.monotonic()
    for b in (launcher, reference):
        setup(b)
    mine, theirs = launcher.state(), reference.state()
    for part in mine:
        if mine[part] != theirs[part]:
            fail(f"after the same setup, {part} differs: {difference(mine[part], theirs[part])}")
    held = [launcher.iterator()]
    launcher.read_stream(held[0], keep=held)  # held: an iterator at the stream's end, kept across steps

    for name, request, expected, unchanged in STEPS:
        before = launcher.state()
        got, want = launcher.transact(request), reference.transact(request)
        if got != want:
            fail(f"{name}: the launcher answered {got!r}, moto {want!r}")
        code = got if got == "ok" else got[0]
        if code != expected:
            fail(f"{name}: expected {expected}, both answered {got!r}")
        after, ref_after = launcher.state(), reference.state()
        for part in after:
            if after[part] != ref_after[part]:
                fail(f"{name}: {part} differs from moto's: {difference(after[part], ref_after[part])}")
        if unchanged and after != before:
            fail(f"{name}: the items or the stream changed")
        new = [strip(r) for r in launcher.read_stream(held[0], keep=held)]
        expected_new = after["stream"][len(before["stream"]):]
        if new != expected_new:
            fail(f"{name}: an iterator handed out earlier read {new!r}, expected {expected_new!r}")
        detail = "" if got == "ok" else f" ({got[0]}: {got[1]}; reasons {[r['Code'] for r in got[2] or []]})"
        ok(f"{name}: same answer and items as moto{', nothing changed' if unchanged else ''}, "
           f"an earlier iterator read {len(new)} records{detail}")

    # moto itself leaves the first operation's write in place here; DynamoDB writes nothing.
    before = launcher.state()
    two_in_one = [
        put({**key("ISSUER#6", "AWARD#0"), "count": N(6)}),
        {**put({**key("ISSUER#6", "AWARD#1")}), **delete(key("ISSUER#0", "AWARD#0"))},
    ]
    got = launcher.transact(two_in_one)
    if got == "ok" or got[0] != "ValidationException":
        fail(f"two operations in one TransactItem: expected ValidationException, got {got!r}")
    if launcher.state() != before:
        fail("two operations in one TransactItem: the first operation's write was left in place")
    ok(f"rejected: two operations in one TransactItem ({got[1]}), nothing changed (moto kept the first write)")
    check_size_limit(launcher)
    print(f"ok: {len(STEPS) + 3} transactions checked in {time.monotonic() - started:.1f} s")


def check_size_limit(launcher):
    """DynamoDB refuses a transaction whose items come to more than 4 MB and writes nothing of
    it (read as 4,000,000 bytes, the stricter reading); one just under is written. moto takes
    any size, so only the launcher is run."""
    big = "\U0001D11E" * 100_000  # 400,000 bytes
    # Ten items (23 bytes of names and keys each): 9 × 400,000 + 399,000 + 230 = 3,999,230 bytes.
    under = [put({**key("ISSUER#7", f"AWARD#{i}"), "text": S(big if i < 9 else big[:99_750])}) for i in range(10)]
    # One more of 1,024 bytes: 4,000,254, over 4,000,000 (and under 4 MiB).
    over = under + [put({**key("ISSUER#7", "AWARD#10"), "text": S(big[:250])})]
    before = launcher.state()
    got = launcher.transact(over)
    if got == "ok" or got[0] != "ValidationException" or "4 MB" not in got[1]:
        fail(f"a transaction of {len(over)} items, 4,000,254 bytes: expected ValidationException, got {got!r}")
    if launcher.state() != before:
        fail("a transaction over 4 MB: something was written")
    ok(f"rejected: a transaction whose items come to 4,000,254 bytes ({got[1]}), nothing changed")
    got = launcher.transact(under)
    if got != "ok":
        fail(f"a transaction of 3,999,230 bytes (under 4 MB): got {got!r}")
    ok("a transaction of 10 items, 3,999,230 bytes, is written")


if __name__ == "__main__":
    main()
