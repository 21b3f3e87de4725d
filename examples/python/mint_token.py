"""Mint a token with which a user connects to Herald.

Usage: HERALD_JWT_SECRET=... python3 mint_token.py USER_ID [SECONDS]

Your backend signs it with the secret Herald has in HERALD_JWT_SECRET (HS256, PyJWT) and hands it
to the user's browser or app, which connects with wss://host/connect?token=<token>.
"""
import os
import sys
import time

import jwt

SECRET = os.environ["HERALD_JWT_SECRET"]


def mint_token(user_id, lifetime_seconds=3600, **claims):
    """A token naming `user_id` (its `sub`), valid for `lifetime_seconds`."""
    now = int(time.time())
    payload = {"sub": str(user_id), "iat": now, "exp": now + lifetime_seconds, **claims}
    return jwt.encode(payload, SECRET, algorithm="HS256")


if __name__ == "__main__":
    print(mint_token(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3600))
