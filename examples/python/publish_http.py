"""Publish to a Herald channel over the HTTP API, retrying safely.

Usage: HERALD_URL=http://127.0.0.1:8000 HERALD_API_KEY=... python3 publish_http.py CHANNEL JSON [KEY]

Python's standard library only. A retry after a timeout or a dropped connection may repeat a
publication that did reach Herald; the idempotency key makes Herald publish it once and answer
the repeat with "duplicate": true.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

HERALD_URL = os.environ.get("HERALD_URL", "http://127.0.0.1:8000")
HERALD_API_KEY = os.environ.get("HERALD_API_KEY")


def publish(channel, data, idempotency_key=None, attempts=5, timeout=5.0):
    """Publishes `data` (any JSON value) to `channel`; returns Herald's reply as a dict."""
    # One key for every attempt of this publication: that is what makes retrying safe.
    key = idempotency_key or str(uuid.uuid4())
    body = json.dumps({"channel": channel, "data": data, "idempotencyKey": key}).encode()
    headers = {"content-type": "application/json"}
    if HERALD_API_KEY:
        headers["authorization"] = "Bearer " + HERALD_API_KEY
    for attempt in range(attempts):
        request = urllib.request.Request(HERALD_URL + "/api/publish", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            # 4xx: the request is wrong (bad body, bad key); retrying will not help.
            if error.code < 500:
                raise
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # Herald may or may not have it: try again with the same key.
        time.sleep(min(0.2 * 2**attempt, 5.0))
    raise RuntimeError(f"could not publish to {channel} after {attempts} attempts")


if __name__ == "__main__":
    channel, data = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(publish(channel, data, sys.argv[3] if len(sys.argv) > 3 else None)))
