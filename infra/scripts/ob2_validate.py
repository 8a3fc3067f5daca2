#!/usr/bin/env python3
"""Runs the 1EdTech Open Badges 2.0 validator (PyPI `openbadges`) on a hosted assertion URL,
offline: the OB v2 JSON-LD context is served from the copy the package bundles.

usage: ob2_validate.py ASSERTION_URL RECIPIENT_EMAIL   -> prints the report as JSON, exit 0
"""
import json
import sys

import requests
from requests.adapters import HTTPAdapter

from openbadges import verify
from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT

CONTEXT_URLS = ("https://w3id.org/openbadges/v2", "http://w3id.org/openbadges/v2",
                "https://openbadgespec.org/v2/context.json")
_send = HTTPAdapter.send


def offline_send(self, request, **kwargs):
    if request.url.rstrip("/") in CONTEXT_URLS:
        r = requests.Response()
        r.status_code = 200
        r.headers["Content-Type"] = "application/ld+json"
        r._content = json.dumps(OPENBADGES_CONTEXT_V2_DICT).encode()
        r.url = request.url
        r.request = request
        return r
    return _send(self, request, **kwargs)


HTTPAdapter.send = offline_send

url, email = sys.argv[1], sys.argv[2]
result = verify(url, recipient_profile={"email": email}, use_cache=False)
report = result["report"]
print(json.dumps({
    "valid": report.get("valid"),
    "errorCount": report.get("errorCount"),
    "warningCount": report.get("warningCount"),
    "messages": report.get("messages"),
}, default=str))
