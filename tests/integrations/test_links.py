"""Signed one-click action links: they cannot be altered, they expire, they act once, they survive masking."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from domain.privacy import mask
from integrations.links import LinkError, consume_link, make_link, make_token, parse_token, verify_link
from integrations.store.db import open_store, session_scope
from integrations.store.models import WarningRow

SECRET = SecretStr("test-link-secret")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=24)


def _params(token: str) -> dict[str, str]:
    return parse_token(token)


def test_round_trip() -> None:
    url = make_link("https://fh.example.cn/", 12, "ack", "jj-duty", LATER, "abcdef0123456789", secret=SECRET)
    assert url.startswith("https://fh.example.cn/a/v1.12.ack.")
    claim = verify_link(_params(url.rsplit("/a/", 1)[1]), NOW, secret=SECRET)
    assert (claim.warning_id, claim.action, claim.responder, claim.nonce) == (12, "ack", "jj-duty",
                                                                           "abcdef0123456789")
    assert claim.expires_at == LATER


@pytest.mark.parametrize("field", ["warning_id", "action", "responder", "expires", "nonce", "sig"])
def test_any_altered_parameter_is_refused(field: str) -> None:
    params = _params(make_token(12, "ack", "jj-duty", LATER, "abcdef0123456789", secret=SECRET))
    altered = {"warning_id": "13", "action": "resolve", "responder": "city-duty",
               "expires": str(int(LATER.timestamp()) + 3600), "nonce": "ffffffff01234567",
               "sig": params["sig"][:-1] + ("a" if params["sig"][-1] != "a" else "b")}
    params[field] = altered[field]
    with pytest.raises(LinkError) as err:
        verify_link(params, NOW, secret=SECRET)
    assert (err.value.reason, err.value.status) == ("tampered", 403)


def test_wrong_secret_and_malformed_tokens_are_refused() -> None:
    token = make_token(12, "ack", "jj-duty", LATER, "abcdef0123456789", secret=SECRET)
    with pytest.raises(LinkError, match="链接签名不符"):
        verify_link(_params(token), NOW, secret=SecretStr("another"))
    for bad in ("", "v1.12.ack", "v2" + token[2:], token + ".x", "v1.12.ack.!!.1.2.3"):
        with pytest.raises(LinkError) as err:
            verify_link(parse_token(bad), NOW, secret=SECRET)
        assert err.value.status == 403


def test_expired_is_refused_with_410() -> None:
    token = make_token(12, "resolve", "jj-duty", LATER, "abcdef0123456789", secret=SECRET)
    verify_link(_params(token), LATER - timedelta(seconds=1), secret=SECRET)
    with pytest.raises(LinkError) as err:
        verify_link(_params(token), LATER, secret=SECRET)
    assert (err.value.reason, err.value.status) == ("expired", 410)


def test_default_secret_comes_from_settings_and_nonce_is_random() -> None:
    a = make_link("http://x", 1, "ack", "r", LATER)
    b = make_link("http://x", 1, "ack", "r", LATER)
    assert a != b
    assert verify_link(parse_token(a.rsplit("/a/", 1)[1]), NOW).action == "ack"


def test_bad_inputs_to_make() -> None:
    with pytest.raises(ValueError):
        make_token(1, "delete", "r", LATER, "abcdef0123456789")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make_token(1, "ack", "r", LATER.replace(tzinfo=None), "abcdef0123456789")
    with pytest.raises(ValueError):
        make_token(1, "ack", "r", LATER, "short")


def test_token_survives_masking_of_the_message_it_is_rendered_into() -> None:
    url = make_link("https://fh.example.cn", 123456, "resolve", "张三-13812345678", LATER,
                    "0123456789abcdef0123456789abcdef", secret=SECRET)
    assert mask(f"点击办结：{url}") == f"点击办结：{url}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = open_store(f"sqlite:///{tmp_path}/links.db")
    yield engine
    engine.dispose()


def test_a_link_is_consumed_once(store: sa.Engine) -> None:
    with session_scope(store) as s:
        w = WarningRow(fingerprint="f1", open_key="f1", rule="r", level="blue", region="510104001001",
                       first_at=NOW, last_at=NOW)
        s.add(w)
        s.flush()
        wid = w.id
    assert wid is not None
    claim = verify_link(parse_token(make_token(wid, "ack", "c1", LATER, "nonce0001", secret=SECRET)), NOW,
                        secret=SECRET)
    with session_scope(store) as s:
        consume_link(session=s, claim=claim, now=NOW)
    with pytest.raises(LinkError) as err, session_scope(store) as s:
        consume_link(session=s, claim=claim, now=NOW)
    assert (err.value.reason, err.value.status) == ("used", 410)


@settings(max_examples=200, deadline=None)
@given(
    wid=st.integers(min_value=1, max_value=10**9),
    responder=st.text(min_size=1, max_size=40),
    nonce=st.text(alphabet="abcdefABCDEF0123456789", min_size=8, max_size=64),
)
def test_any_link_survives_masking_and_verifies(wid: int, responder: str, nonce: str) -> None:
    url = make_link("http://127.0.0.1:8766", wid, "ack", responder, LATER, nonce, secret=SECRET)
    assert mask(url) == url
    claim = verify_link(parse_token(url.rsplit("/a/", 1)[1]), NOW, secret=SECRET)
    assert (claim.warning_id, claim.responder, claim.nonce) == (wid, responder, nonce)
