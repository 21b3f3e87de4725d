"""Publish to Herald channels straight through Redis, from a background worker.

Usage: REDIS_URL=redis://127.0.0.1:6379 python3 publish_redis.py CHANNEL JSON

`notify` is written as a Celery task body would be (decorate it with @app.task in a Celery app);
it needs only redis-py. Herald must run with the same REDIS_URL and HERALD_REDIS_PREFIX.
"""
import json
import os
import sys

import redis

REDIS = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
PREFIX = os.environ.get("HERALD_REDIS_PREFIX", "herald:")


def notify(channel, data):
    """Delivers `data` (any JSON value) to every subscriber of Herald channel `channel`.

    Herald's wire format, "herald1" + newline + the data as JSON, keeps every JSON value as it is:
    the string "42" stays a string. Returns how many Herald processes took it: those with
    subscribers to the channel (0: nobody is listening right now, and nothing is kept).
    """
    message = "herald1\n" + json.dumps(data, ensure_ascii=False)
    return REDIS.publish(PREFIX + channel, message.encode())


if __name__ == "__main__":
    print(notify(sys.argv[1], json.loads(sys.argv[2])))
