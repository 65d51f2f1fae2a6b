"""TOTP codes: accepted one step either side of now and no further, secrets sealed under the TOTP key,
offered to city and district accounts only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from integrations.totp import (
    SecretBox,
    TotpError,
    matching_step,
    new_secret,
    offered,
    provisioning_uri,
    required,
)

NOW = datetime(2026, 12, 5, 5, 0, 7, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _code(at: datetime, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).at(at)


def test_the_current_code_and_its_neighbours_match_with_their_own_step() -> None:
    step = pyotp.TOTP(SECRET).timecode(NOW)
    assert matching_step(SECRET, _code(NOW), NOW) == step
    assert matching_step(SECRET, _code(NOW - timedelta(seconds=30)), NOW) == step - 1
    assert matching_step(SECRET, _code(NOW + timedelta(seconds=30)), NOW) == step + 1
    # Two steps away is too far, either way.
    assert matching_step(SECRET, _code(NOW - timedelta(seconds=60)), NOW) is None
    assert matching_step(SECRET, _code(NOW + timedelta(seconds=60)), NOW) is None


@given(offset=st.integers(min_value=-300, max_value=300))
def test_a_code_matches_exactly_when_its_step_is_within_one_of_now(offset: int) -> None:
    then = NOW + timedelta(seconds=offset)
    totp = pyotp.TOTP(SECRET)
    distance = abs(totp.timecode(then) - totp.timecode(NOW))
    found = matching_step(SECRET, totp.at(then), NOW)
    if distance <= 1:
        assert found == totp.timecode(then)
    else:
        # A different step's code may collide by chance (1 in a million per step); then it is that step.
        assert found is None or abs(found - totp.timecode(NOW)) <= 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 34 5"])
def test_malformed_codes_never_match(code: str) -> None:
    assert matching_step(SECRET, code, NOW) is None


def test_spaces_inside_a_code_are_forgiven() -> None:
    code = _code(NOW)
    assert matching_step(SECRET, f" {code[:3]} {code[3:]} ", NOW) is not None


def test_secrets_are_sealed_and_only_the_same_key_opens_them() -> None:
    secret = new_secret()
    assert len(secret) == 32 and secret.isalnum()
    box = SecretBox(SecretStr("k" * 40))
    sealed = box.seal(secret)
    assert secret not in sealed and box.open(sealed) == secret
    with pytest.raises(TotpError, match="fenghuo users totp"):
        SecretBox(SecretStr("other" * 8)).open(sealed)


def test_the_uri_names_the_issuer_and_account() -> None:
    uri = provisioning_uri(SECRET, "jj-duty")
    assert uri.startswith("otpauth://totp/") and "jj-duty" in uri and f"secret={SECRET}" in uri
    assert "issuer=%E7%83%BD%E7%81%AB" in uri  # 烽火


def test_city_and_district_accounts_are_offered_streets_are_not() -> None:
    assert offered("510100000000") and offered("510104000000")
    assert not offered("510104001000") and not offered("510104001002")
    assert required("510104000000", ["district"]) and not required("510100000000", ["district"])
    assert not required("510104000000", []) and not required("510104001000", ["district", "city"])
