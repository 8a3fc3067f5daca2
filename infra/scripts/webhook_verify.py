#!/usr/bin/env python3
"""Checks webhook requests with the Standard Webhooks reference library (PyPI `standardwebhooks`).

Reads JSON on stdin: {"secret": "whsec_…", "messages": [{"headers": {…}, "body": "…"}, …]}.
Prints one JSON list: for each message, "ok" when the library accepts it, else the library's
error. The integration tests (tests/integration/webhooks.rs) run it on every request their
receiver got, and on copies with one byte of the body changed.
"""
import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> None:
    job = json.load(sys.stdin)
    hook = Webhook(job["secret"])
    verdicts = []
    for m in job["messages"]:
        try:
            hook.verify(m["body"], m["headers"])
            verdicts.append("ok")
        except WebhookVerificationError as e:
            verdicts.append(f"rejected: {e}")
    json.dump(verdicts, sys.stdout)


if __name__ == "__main__":
    main()
