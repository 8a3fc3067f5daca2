#!/usr/bin/env python3
"""S3 requests on our moto launcher (infra/scripts/moto_server.py, IAM on) are authorised on the
IAM action AWS checks, not on the operation's name.

AWS checks `s3:PutObject` for every step of a multipart upload, `s3:GetObject` for HeadObject,
`s3:ListBucket` for ListObjectsV2 and `s3:AbortMultipartUpload` for its own operation ("Required
permissions for Amazon S3 API operations", Amazon S3 User Guide). moto 5.2.6 checked
`s3:CreateMultipartUpload`, an action no policy can grant, so the ingest function (allowed
`s3:PutObject` on `reports/*`) could not write an error report larger than one part. Each check
below is made both ways: the documented action allows the request, and a policy without it
refuses it.

Usage: .venv/bin/python infra/scripts/test_moto_s3_iam.py [--launcher PATH]
Prints one line per check; exits 1 on the first failure.
"""
import argparse
import json
import sys
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from test_moto_transactions import fail, ok, with_launcher  # noqa: E402

BUCKET = "accolade-s3-iam-check"
PART = 5 * 1024 * 1024  # S3's smallest part but the last


def s3_client(endpoint, key_id, secret):
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=config,
    )


def principal(endpoint, name, actions, resources):
    """An IAM user allowed `actions` on `resources`, as the local stack creates one per function."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}],
    }
    body = json.dumps({"name": name, "policy": policy}).encode()
    request = urllib.request.Request(f"{endpoint}/_accolade/principal", data=body, method="POST")
    creds = json.load(urllib.request.urlopen(request))
    return s3_client(endpoint, creds["access_key_id"], creds["secret_access_key"])


def outcome(call):
    """"ok", or the error code S3 answered."""
    try:
        call()
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]


def expect(what, call, wanted):
    got = outcome(call)
    if got != wanted:
        fail(f"{what}: expected {wanted}, got {got}")
    ok(f"{what}: {got}")


def multipart(s3, key):
    """A two-part upload, created, uploaded and completed."""
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    parts = []
    for number, body in ((1, b"a" * PART), (2, b"b")):
        etag = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})


def run(launcher):
    args = launcher.client_args
    endpoint = args["endpoint_url"]
    admin = s3_client(endpoint, args["aws_access_key_id"], args["aws_secret_access_key"])
    admin.create_bucket(Bucket=BUCKET)
    admin.put_object(Bucket=BUCKET, Key="reports/existing.csv", Body=b"x")
    objects = f"arn:aws:s3:::{BUCKET}/reports/*"

    writer = principal(endpoint, "s3-iam-writer", ["s3:PutObject"], [objects])
    expect("s3:PutObject allows a multipart upload under its prefix", lambda: multipart(writer, "reports/big.csv"), "ok")
    size = admin.head_object(Bucket=BUCKET, Key="reports/big.csv")["ContentLength"]
    if size != PART + 1:
        fail(f"the completed upload holds {size} bytes, not {PART + 1}")
    ok("the completed upload holds both parts")
    expect("…and not outside it", lambda: multipart(writer, "uploads/big.csv"), "AccessDenied")
    expect("s3:PutObject does not allow HeadObject", lambda: writer.head_object(Bucket=BUCKET, Key="reports/existing.csv"), "403")
    upload = writer.create_multipart_upload(Bucket=BUCKET, Key="reports/abandoned.csv")["UploadId"]
    abort = lambda s3: s3.abort_multipart_upload(Bucket=BUCKET, Key="reports/abandoned.csv", UploadId=upload)  # noqa: E731
    expect("s3:PutObject does not allow AbortMultipartUpload", lambda: abort(writer), "AccessDenied")
    aborter = principal(endpoint, "s3-iam-aborter", ["s3:AbortMultipartUpload"], [objects])
    expect("s3:AbortMultipartUpload allows it", lambda: abort(aborter), "ok")

    nothing = principal(endpoint, "s3-iam-none", ["s3:GetBucketTagging"], [objects])
    expect("a multipart upload needs s3:PutObject", lambda: nothing.create_multipart_upload(Bucket=BUCKET, Key="reports/n.csv"), "AccessDenied")

    reader = principal(endpoint, "s3-iam-reader", ["s3:GetObject"], [objects])
    expect("s3:GetObject allows HeadObject", lambda: reader.head_object(Bucket=BUCKET, Key="reports/existing.csv"), "ok")
    expect("s3:GetObject does not allow ListObjectsV2", lambda: reader.list_objects_v2(Bucket=BUCKET, Prefix="reports/"), "AccessDenied")
    lister = principal(endpoint, "s3-iam-lister", ["s3:ListBucket"], [f"arn:aws:s3:::{BUCKET}"])
    expect("s3:ListBucket allows ListObjectsV2", lambda: lister.list_objects_v2(Bucket=BUCKET, Prefix="reports/"), "ok")
    expect("s3:ListBucket does not allow GetObject", lambda: lister.get_object(Bucket=BUCKET, Key="reports/existing.csv"), "AccessDenied")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--launcher", default=str(HERE / "moto_server.py"))
    args = parser.parse_args()
    with_launcher(run, args.launcher)
    print("the launcher authorises S3 requests on the IAM actions AWS checks")


if __name__ == "__main__":
    main()
