"""Secrets: fingerprints, the redactor, JWT minting (compared with an independent HS256 check)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from maas_lab.evidence.litemaas import StudentUser, mint_jwt, usable_admin_key
from maas_lab.evidence.sensitive import Redactor, Sensitive, fingerprint_of, sha256_hex


def test_sensitive_never_shows_its_value() -> None:
    key = Sensitive("sk-Fz7KxaRGsZNYSm6izpqwzA")
    assert "xaRGsZ" not in str(key) and "xaRGsZ" not in repr(key) and "xaRGsZ" not in f"{key}"
    assert str(key).startswith("sk-Fz7K…#")
    assert key.sha256 == hashlib.sha256(b"sk-Fz7KxaRGsZNYSm6izpqwzA").hexdigest()


def test_redactor_scrubs_remembered_values_their_base64_and_secret_shapes() -> None:
    redactor = Redactor()
    redactor.remember("s3cr3t-password")
    text = (
        "pw s3cr3t-password b64 " + base64.b64encode(b"s3cr3t-password").decode()
        + " key sk-abcdefghijklmnopqrstuv admin ltm_admin_abc123 jwt eyJhbGciOi.eyJ1c2VyIjoi.c2lnbmF0dXJl Bearer abcdefghijk"
    )
    scrubbed = redactor.scrub(text)
    for secret in ("s3cr3t-password", "czNjcjN0LXBhc3N3b3Jk", "sk-abcdefghijklmnopqrstuv", "ltm_admin_abc123", "eyJ1c2VyIjoi", "abcdefghijk"):
        assert secret not in scrubbed
    assert fingerprint_of("s3cr3t-password") in scrubbed


def test_short_values_are_not_treated_as_secrets() -> None:
    redactor = Redactor()
    redactor.remember("0")
    assert redactor.scrub("2.0 points") == "2.0 points"


def test_jwt_is_hs256_with_the_grader_role() -> None:
    secret = Sensitive("jwt-secret-value")
    user = StudentUser("11111111-2222-3333-4444-555555555555", "user1", "user1@example.com", None, None, "litellm")
    token = mint_jwt(secret, user, now=1_800_000_000).reveal()
    head, body, signature = token.split(".")
    expected = hmac.new(b"jwt-secret-value", f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    assert payload == {"userId": user.id, "username": "user1", "email": "user1@example.com", "roles": ["admin-readonly"],
                       "iat": 1_800_000_000, "exp": 1_800_000_300}


def test_usable_admin_key_takes_the_first_prefixed_entry() -> None:
    assert usable_admin_key(Sensitive("changeme, ltm_admin_abc , ltm_admin_def")) == Sensitive("ltm_admin_abc")
    assert usable_admin_key(Sensitive("changeme")) is None
    assert usable_admin_key(Sensitive("ltm_admin_")) is None
    assert usable_admin_key(None) is None
    assert sha256_hex("x") == hashlib.sha256(b"x").hexdigest()


def test_public_words_are_not_remembered_as_secrets() -> None:
    redactor = Redactor()
    for value in ("changeme", "ltm_admin_", "s3cr3t-value"):
        redactor.remember(value)
    text = "still `changeme`; keys start with `ltm_admin_`; s3cr3t-value"
    assert redactor.scrub(text) == f"still `changeme`; keys start with `ltm_admin_`; {fingerprint_of('s3cr3t-value')}"
