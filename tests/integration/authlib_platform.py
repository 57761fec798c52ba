#!/usr/bin/python3
"""A platform logging a citizen in with cyberid through Debian 12's
python3-authlib (1.2) and python3-requests: authorization code flow with
PKCE S256, state and nonce; the code exchange with client_secret_basic;
the ID token validated by authlib (ES256 signature against /jwks.json,
iss, aud, exp, iat, nonce, at_hash); userinfo; a refresh; introspection
and revocation. docs/quickstart.md copies this file's platform part.

Run by authlib.test.mjs, which plays the browser and the citizen: this
script prints {"authorization_url"} as a JSON line, reads the URL the
browser was sent back to (the platform's redirect URI with code, state,
iss) from standard input, and prints what it got as a JSON line. The
configuration comes from the environment: CYBERID_ISSUER,
CYBERID_CLIENT_ID, CYBERID_CLIENT_SECRET, CYBERID_REDIRECT_URI.
"""
import base64
import json
import os
import sys
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.jose.errors import JoseError
from authlib.oidc.core import CodeIDToken

# ---- the platform (docs/quickstart.md) ----

ISSUER = os.environ["CYBERID_ISSUER"]
CLIENT_ID = os.environ["CYBERID_CLIENT_ID"]
CLIENT_SECRET = os.environ["CYBERID_CLIENT_SECRET"]
REDIRECT_URI = os.environ["CYBERID_REDIRECT_URI"]
SCOPE = "openid realname_verified age_over_18"

metadata = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()
assert metadata["issuer"] == ISSUER
jwks = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
id_tokens = JsonWebToken(["ES256"])  # cyberid signs ID tokens with ES256 only

client = OAuth2Session(CLIENT_ID, CLIENT_SECRET, scope=SCOPE, redirect_uri=REDIRECT_URI,
                       code_challenge_method="S256",
                       token_endpoint_auth_method="client_secret_basic")


def start_login():
    """The URL to send the browser to, and what the callback checks."""
    code_verifier = generate_token(48)
    nonce = generate_token(24)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce)
    return url, {"state": state, "code_verifier": code_verifier, "nonce": nonce}


def validate_id_token(id_token, nonce, access_token):
    """The ID token's claims once authlib has checked them; raises otherwise."""
    claims = id_tokens.decode(
        id_token, jwks, claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": ISSUER},
                        "aud": {"essential": True, "value": CLIENT_ID}},
        claims_params={"nonce": nonce, "client_id": CLIENT_ID, "access_token": access_token})
    claims.validate(leeway=30)
    return claims


def finish_login(callback_url, checks):
    """The callback: the code exchanged, the ID token validated, userinfo."""
    params = parse_qs(urlsplit(callback_url).query)
    if "error" in params:
        raise RuntimeError(f"login refused: {params['error'][0]}")
    # RFC 9207: the response names the issuer it came from.
    if params.get("iss") != [ISSUER]:
        raise RuntimeError("the authorization response comes from another issuer")
    client.state = checks["state"]  # fetch_token refuses another state
    token = client.fetch_token(metadata["token_endpoint"], authorization_response=callback_url,
                               code_verifier=checks["code_verifier"])
    claims = validate_id_token(token["id_token"], checks["nonce"], token["access_token"])
    userinfo = client.get(metadata["userinfo_endpoint"], timeout=10).json()
    if userinfo["sub"] != claims["sub"]:
        raise RuntimeError("userinfo is about someone else")
    return token, claims, userinfo


# ---- the test's side: the login, then the checks it reports ----

def flip_signature_bit(jws):
    """The same compact JWS with one bit of its signature changed."""
    head, payload, signature = jws.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 1
    return f"{head}.{payload}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


def main():
    url, checks = start_login()
    print(json.dumps({"authorization_url": url}), flush=True)
    callback_url = sys.stdin.readline().strip()
    token, claims, userinfo = finish_login(callback_url, checks)

    # authlib refuses the same ID token with another nonce, for another
    # audience, or with a signature that does not verify.
    refusals = {}
    for label, change in [
        ("nonce", lambda: validate_id_token(token["id_token"], generate_token(24), token["access_token"])),
        ("at_hash", lambda: validate_id_token(token["id_token"], checks["nonce"], generate_token(43))),
        ("signature", lambda: validate_id_token(flip_signature_bit(token["id_token"]),
                                                checks["nonce"], token["access_token"])),
    ]:
        try:
            change()
            refusals[label] = None
        except JoseError as error:
            refusals[label] = error.error

    refreshed = client.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    after_refresh = client.get(metadata["userinfo_endpoint"], timeout=10).json()
    live = client.introspect_token(metadata["introspection_endpoint"], token=refreshed["access_token"]).json()
    revoked = client.revoke_token(metadata["revocation_endpoint"], token=refreshed["refresh_token"])
    dead = client.introspect_token(metadata["introspection_endpoint"], token=refreshed["access_token"]).json()
    print(json.dumps({
        "token_scope": token.get("scope"),
        "id_token_claims": dict(claims),
        "userinfo": userinfo,
        "refusals": refusals,
        "refreshed": {"scope": refreshed.get("scope"), "new_access_token": refreshed["access_token"] != token["access_token"]},
        "userinfo_after_refresh": after_refresh,
        "introspection": live,
        "revocation_status": revoked.status_code,
        "introspection_after_revocation": dead,
    }), flush=True)


if __name__ == "__main__":
    main()
