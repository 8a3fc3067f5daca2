#!/usr/bin/env python3
"""The launcher's DynamoDB capacity meter (infra/scripts/capacity.py) against DynamoDB's rules.

Starts the launcher (IAM on, as the local stack runs it), sends requests whose item sizes are
worked out by hand from the Developer Guide's rules, and checks the request units the meter
reports for each (`GET /_accolade/capacity` after a `POST` reset).

Usage: .venv/bin/python infra/scripts/test_capacity.py
Prints one line per check; exits 1 on the first failure.
"""
import json
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from test_moto_transactions import fail, ok, with_launcher  # noqa: E402

TABLE = "Metered"


def S(v):
    return {"S": v}


def meter(endpoint, reset=False, table=None):
    query = f"?table={table}" if table else ""
    request = urllib.request.Request(f"{endpoint}/_accolade/capacity{query}", method="POST" if reset else "GET")
    with urllib.request.urlopen(request) as r:
        return json.loads(r.read())


def expect(endpoint, what, op, **units):
    got = meter(endpoint).get(op, {})
    for k, v in units.items():
        if got.get(k) != v:
            fail(f"{what}: {op} {k} = {got.get(k)}, expected {v} (all: {got})")
    meter(endpoint, reset=True)
    ok(f"{what}: {op} {units}")


def item(pk, pad, **extra):
    # Size: "PK" 2 + len(pk), "SK" 2 + 1, "fill" 4 + len(pad), plus extra.
    return {"PK": S(pk), "SK": S("x"), "fill": S("p" * pad), **extra}


def run(ddb, endpoint):
    ddb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "G", "D")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "ALL", "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "KEYS", "KeySchema": [{"AttributeName": "D", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    meter(endpoint, reset=True)
    # 2+2 + 2+1 + 4+1000 = 1011 bytes: 1 WRU; no index attribute, no index write.
    ddb.put_item(TableName=TABLE, Item=item("a1", 1000))
    expect(endpoint, "a 1011-byte item", "PutItem", requests=1, wru=1, index_wru=0)
    # 1011 + "n" 1 + 5 digits (3 + 1) = 1016 → still 1 KB; an update bills the larger image.
    ddb.update_item(TableName=TABLE, Key={"PK": S("a1"), "SK": S("x")}, UpdateExpression="SET n = :n",
                    ExpressionAttributeValues={":n": {"N": "12345"}})
    expect(endpoint, "an update within 1 KB", "UpdateItem", wru=1)
    # Grow it to 1011 - 1000 + 1100 + 5 = 1116 bytes: 2 WRU.
    ddb.update_item(TableName=TABLE, Key={"PK": S("a1"), "SK": S("x")}, UpdateExpression="SET fill = :p",
                    ExpressionAttributeValues={":p": S("p" * 1100)})
    expect(endpoint, "an update past 1 KB", "UpdateItem", wru=2)
    # Shrinking it back still bills the larger (before) image.
    ddb.update_item(TableName=TABLE, Key={"PK": S("a1"), "SK": S("x")}, UpdateExpression="SET fill = :p",
                    ExpressionAttributeValues={":p": S("p")})
    expect(endpoint, "an update that shrinks", "UpdateItem", wru=2)
    # A failed condition still consumes the item's size (now 2+2 + 2+1 + 4+1 + 1+4 = 17 bytes: 1).
    try:
        ddb.put_item(TableName=TABLE, Item=item("a1", 1), ConditionExpression="attribute_not_exists(PK)")
        fail("the conditional put succeeded")
    except ddb.exceptions.ConditionalCheckFailedException:
        pass
    expect(endpoint, "a failed condition", "PutItem", wru=1)
    # Into the ALL index (G) and the KEYS_ONLY index (D): item 2+2 + 2+1 + 4+10 + 1+1 + 1+1 = 25
    # bytes; 1 WRU for the table, 1 for each index entry.
    ddb.put_item(TableName=TABLE, Item=item("b1", 10, G=S("g"), D=S("d")))
    expect(endpoint, "a put into two indexes", "PutItem", wru=1, index_wru=2)
    # A change of a projected attribute: the ALL entry is rewritten (1), the KEYS_ONLY one not.
    ddb.update_item(TableName=TABLE, Key={"PK": S("b1"), "SK": S("x")}, UpdateExpression="SET fill = :p",
                    ExpressionAttributeValues={":p": S("q" * 10)})
    expect(endpoint, "a change the ALL index projects", "UpdateItem", wru=1, index_wru=1)
    # A change of an index key: delete + put in that index (2), and ALL's entry rewritten (1).
    ddb.update_item(TableName=TABLE, Key={"PK": S("b1"), "SK": S("x")}, UpdateExpression="SET D = :d",
                    ExpressionAttributeValues={":d": S("e")})
    expect(endpoint, "an index key change", "UpdateItem", wru=1, index_wru=3)
    # A transaction doubles the table's units (2 items of 1 KB → 4), not the index's.
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": item("c1", 10, G=S("g"))}},
        {"Update": {"TableName": TABLE, "Key": {"PK": S("a1"), "SK": S("x")}, "UpdateExpression": "SET m = :m",
                    "ExpressionAttributeValues": {":m": S("m")}}},
    ])
    expect(endpoint, "a two-item transaction", "TransactWriteItems", wru=4, index_wru=1)
    # Deleting an item bills its size and removes its index entries.
    ddb.delete_item(TableName=TABLE, Key={"PK": S("c1"), "SK": S("x")})
    expect(endpoint, "a delete", "DeleteItem", wru=1, index_wru=1)
    # Reads: an item of 2+3 + 2+1 + 4+5000 = 5012 bytes is 2 × 4 KB.
    ddb.put_item(TableName=TABLE, Item=item("big", 5000))
    meter(endpoint, reset=True)
    ddb.get_item(TableName=TABLE, Key={"PK": S("big"), "SK": S("x")})
    expect(endpoint, "an eventually consistent read of 5 KB", "GetItem", rru=1.0)
    ddb.get_item(TableName=TABLE, Key={"PK": S("big"), "SK": S("x")}, ConsistentRead=True)
    expect(endpoint, "a strongly consistent read of 5 KB", "GetItem", rru=2.0)
    ddb.get_item(TableName=TABLE, Key={"PK": S("none"), "SK": S("x")})
    expect(endpoint, "a read of no item", "GetItem", rru=0.5)
    # A projection does not make the read cheaper: the whole item is read.
    ddb.get_item(TableName=TABLE, Key={"PK": S("big"), "SK": S("x")}, ProjectionExpression="PK")
    expect(endpoint, "a projected read", "GetItem", rru=1.0)
    # A query sums the items before rounding: 5 items of 1 KB (2+1 + 2+1 + 4+1012 = 1022) = 5110 → 2 units.
    for i in range(5):
        ddb.put_item(TableName=TABLE, Item={"PK": S("q"), "SK": S(f"{i}"), "fill": S("p" * 1012)})
    meter(endpoint, reset=True)
    ddb.query(TableName=TABLE, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": S("q")})
    expect(endpoint, "a query of 5 × 1 KB", "Query", rru=1.0)
    ddb.query(TableName=TABLE, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": S("nothing")})
    expect(endpoint, "an empty query", "Query", rru=0.5)
    # Each table's units apart (every test of the suite has its own table).
    ddb.create_table(
        TableName="Other",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="Other", Item={"PK": S("o")})
    ddb.put_item(TableName=TABLE, Item=item("t1", 1))
    ddb.put_item(TableName=TABLE, Item=item("t2", 1))
    mine, other = meter(endpoint, table=TABLE), meter(endpoint, table="Other")
    if mine.get("PutItem", {}).get("requests") != 2 or other.get("PutItem", {}).get("requests") != 1:
        fail(f"per table: {mine} / {other}")
    meter(endpoint, reset=True, table="Other")
    if meter(endpoint, table="Other") or meter(endpoint).get("PutItem", {}).get("requests") != 2:
        fail(f"resetting one table: {meter(endpoint)}")
    ok("units by table, reset by table")


def main():
    with_launcher(lambda launcher: run(launcher.ddb, launcher.ddb.meta.endpoint_url))
    print("capacity meter: all checks passed")


if __name__ == "__main__":
    main()
