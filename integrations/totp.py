"""Time-based one-time passwords (TOTP, RFC 6238) of the workspace's accounts: the second login step.

The secret (base32) is made and checked by pyotp; in the store it is only ever ciphertext (Fernet under a
key derived from ``settings.totp_key``), so a copy of the database or a log line never yields the codes.
A code is accepted one 30-second step either side of the server's clock (phones drift), and each accepted
step is remembered per account so that the same code — or an earlier one — is never accepted twice.

Who is offered TOTP follows the account's responder's region node: city and district tiers (the city's
duty leadership sits at the city node). ``settings.totp_required_tiers`` makes it compulsory for some.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from domain.messages import N_, Message
from domain.regions import Tier, tier_of

OFFERED_TIERS = frozenset({Tier.city, Tier.district})
"""Tiers whose accounts may enrol: those that see a whole district or the whole city."""
ISSUER = "烽火"
"""The issuer name an authenticator app shows beside the account."""
DRIFT_STEPS = 1
"""Steps (30 s each) either side of now within which a code is accepted."""


class TotpError(Exception):
    """A TOTP secret that cannot be read (the key changed); the message (Chinese) says what to do."""


def offered(node: str) -> bool:
    """True if an account whose responder sits at region ``node`` may enrol in TOTP."""
    return tier_of(node) in OFFERED_TIERS


def required(node: str, tiers: Iterable[str]) -> bool:
    """True if an account at ``node`` must log in with a code (its tier is one of ``tiers`` and offered)."""
    tier = tier_of(node)
    return tier in OFFERED_TIERS and tier.value in set(tiers)


def new_secret() -> str:
    """A fresh random base32 secret (160 bits, as authenticator apps expect)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans or imports."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


class SecretBox:
    """Encrypts and decrypts TOTP secrets with a key derived from ``settings.totp_key``."""

    def __init__(self, key: SecretStr) -> None:
        # Fernet wants 32 url-safe base64 bytes; a labelled hash keeps this key apart from other uses.
        raw = hashlib.sha256(b"fenghuo-totp-v1\n" + key.get_secret_value().encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(raw))

    def seal(self, secret: str) -> str:
        """The ciphertext the store keeps for ``secret``."""
        return self._fernet.encrypt(secret.encode("ascii")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The secret inside ``sealed``; :class:`TotpError` if this key did not seal it."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError) as exc:
            raise TotpError(Message(N_("动态口令密钥无法解密（FENGHUO_TOTP_KEY 可能已更换）：请管理员用 "
                                       "`fenghuo users totp 用户名` 为该账号重新绑定。"))) from exc


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within :data:`DRIFT_STEPS` of ``now``; else ``None``.

    The caller refuses a step not later than the last one accepted (replay)."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
