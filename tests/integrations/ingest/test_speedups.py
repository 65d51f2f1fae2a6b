"""The C twins (integrations/ingest/_speedups.c) against their Python references, on generated input.

Each C function must give the Python function's result wherever it answers, answer for the common
case (else the speed is not there), and leave everything else to Python. Without the build these
tests are skipped with the reason, except in CI, which must build it.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import math
import os
import sys
from datetime import UTC, datetime, timedelta, timezone
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.kinds import has_bad_text
from domain.privacy import normalise_identifier
from domain.privacy import pseudonymiser as pseudonymiser_py
from integrations.ingest import speedups
from integrations.ingest.twins import canonical_and_hash, pseudonymiser, text_refused, times_of
from integrations.store.prepared import canonical_json, hash_content, utc_text


def canonical_and_hash_py(kind: str, ts: float, region: str, attributes: dict[str, Any]) -> tuple[str, str]:
    """The reference of the C ``canonical_and_hash``: the canonical text, then its content hash."""
    text = canonical_json(attributes)
    return text, hash_content(kind, ts, region, text)


def _native() -> ModuleType:
    if speedups.UNAVAILABLE is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must build the C extension: {speedups.UNAVAILABLE}")
        pytest.skip(speedups.UNAVAILABLE)
    from integrations.ingest import _speedups

    return _speedups


@pytest.fixture(scope="module")
def native() -> ModuleType:
    """The built extension (skipped with the reason where it is not built; a failure in CI)."""
    return _native()


def test_the_extension_is_built_and_current(native: ModuleType) -> None:
    assert native.VERSION == speedups.VERSION
    assert speedups.canonical_and_hash is native.canonical_and_hash


# ---- canonical text and content hash ----

_simple = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.text(alphabet=st.characters(blacklist_categories=["Cs"]))  # every code point but lone surrogates
    | st.text(alphabet=st.characters(max_codepoint=0x7F))  # controls, quotes and backslashes often
)
_any = (
    _simple
    | st.floats()
    | st.text()
    | st.datetimes(timezones=st.just(UTC))
    | st.lists(_simple, max_size=2)
    | st.dictionaries(st.text(max_size=2), _simple, max_size=2)
)
_keys = st.text(max_size=8) | st.text(alphabet="ab_é中", max_size=3)
_kinds = st.sampled_from(["petition", "热线", "a\x1fb"])
_times = st.floats(allow_nan=False, allow_infinity=False) | st.floats(min_value=0, max_value=4.2e9)


def _outcome(f: Any, *args: Any) -> Any:
    try:
        return f(*args)
    except Exception as exc:  # the same error type is the same behaviour (a lone surrogate, say)
        return type(exc)


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(_keys, _simple, max_size=8), _kinds, _times, st.text(max_size=15))
def test_c_canonical_and_hash_is_the_python_one_and_takes_every_simple_record(
    native: ModuleType, attributes: dict[str, Any], kind: str, ts: float, region: str
) -> None:
    expected = canonical_and_hash_py(kind, ts, region, attributes)
    assert native.canonical_and_hash(kind, ts, region, attributes) == expected


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(_keys, _any, max_size=6), _kinds, _times, st.text(max_size=15))
def test_c_canonical_and_hash_answers_rightly_or_not_at_all(
    native: ModuleType, attributes: dict[str, Any], kind: str, ts: float, region: str
) -> None:
    expected = _outcome(canonical_and_hash_py, kind, ts, region, attributes)
    got = native.canonical_and_hash(kind, ts, region, attributes)
    assert got is None or got == expected
    assert _outcome(canonical_and_hash, kind, ts, region, attributes) == expected  # what callers use


def test_c_canonical_and_hash_leaves_the_rare_values_to_python(native: ModuleType) -> None:
    for value in (float("nan"), float("inf"), "\ud800", [1], {"a": 1}, datetime(2026, 1, 5, tzinfo=UTC), 1.5j):
        assert native.canonical_and_hash("petition", 1.0, "5101", {"v": value}) is None
    assert native.canonical_and_hash("petition", 1, "5101", {}) is None  # an int time: repr differs
    assert native.canonical_and_hash("petition", 1.0, "5101", {1: "a"}) is None
    many = {f"k{i}": i for i in range(65)}  # beyond the C code's key array
    assert native.canonical_and_hash("petition", 1.0, "5101", many) is None
    assert canonical_and_hash("petition", 1.0, "5101", many) == canonical_and_hash_py("petition", 1.0, "5101", many)


def test_c_canonical_text_of_escapes_and_numbers(native: ModuleType) -> None:
    attrs = {"b": 'q"b\\s\n\r\t\b\f\x01\x1f\x7f中', "a": -(2**64), "c": 1e-7, "d": 0.1, "e": True, "f": None}
    text, _ = native.canonical_and_hash("petition", 1767542409.0, "510104001001001", attrs)
    assert text == '{"a":-18446744073709551616,"b":"q\\"b\\\\s\\n\\r\\t\\b\\f\\u0001\\u001f\x7f中",' \
        '"c":1e-07,"d":0.1,"e":true,"f":null}'


# ---- pseudonyms ----

_identifiers = (
    st.text(alphabet="0123456789Xx", min_size=1, max_size=20)
    | st.text(alphabet="0123456789abcxyzABCXYZ", min_size=1, max_size=140)
    | st.text(min_size=1, max_size=30)
    | st.just("p_0123456789abcdef0123")
)


@settings(max_examples=1000, deadline=None)
@given(_identifiers, st.binary(max_size=100))
def test_c_pseudonym_is_the_standard_hmac(native: ModuleType, value: str, key: bytes) -> None:
    python = pseudonymiser_py(key)
    one = native.Pseudonymiser(key, python)
    assert one(value) == python(value)
    if value.isascii() and value.isalnum() and len(value) <= 128:
        expected = "p_" + hmac.new(key, normalise_identifier(value).encode(), hashlib.sha256).hexdigest()[:20]
        assert native.Pseudonymiser(key, lambda v: pytest.fail("fallback used"))(value) == expected


def test_pseudonymiser_is_the_c_one_where_built(native: ModuleType) -> None:
    assert isinstance(pseudonymiser("k"), native.Pseudonymiser)
    with pytest.raises(TypeError):
        native.Pseudonymiser(b"k", print)("a", "b")
    assert pseudonymiser("k")("510104 19900101 123x") == pseudonymiser_py("k")("51010419900101123X")


# ---- event times ----

_offsets = st.builds(
    lambda m, s: timezone(timedelta(minutes=m, seconds=s)), st.integers(-23 * 60, 23 * 60), st.integers(0, 59)
)


@settings(max_examples=1500, deadline=None)
@given(st.datetimes(min_value=datetime(1965, 1, 1), max_value=datetime(2105, 1, 1), timezones=_offsets))
def test_c_times_are_the_timestamp_and_the_utc_text(native: ModuleType, at: datetime) -> None:
    got = native.times_of(at)
    ts = at.timestamp()
    if 0 <= ts < 4_102_444_800:
        assert got == (ts, utc_text(at))
        assert math.copysign(1, got[0]) == 1
    else:
        assert got is None
    assert times_of(at) == (ts, utc_text(at))


def test_c_times_leave_zones_with_rules_and_naive_times_to_python(native: ModuleType) -> None:
    assert native.times_of(datetime(2026, 1, 5, 9, tzinfo=ZoneInfo("Asia/Shanghai"))) is None
    assert native.times_of(datetime(2026, 1, 5, 9)) is None
    assert native.times_of("2026-01-05") is None
    edge = datetime(2099, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert native.times_of(edge) == (edge.timestamp(), "2099-12-31 23:59:59.999999")
    assert native.times_of(datetime(1970, 1, 1, tzinfo=UTC)) == (0.0, "1970-01-01 00:00:00.000000")


# ---- text no store keeps ----

_texts = (
    st.text()  # every code point, lone surrogates and NUL included
    | st.text(alphabet=st.characters(max_codepoint=0xFF))  # one byte per character: only a NUL is refused
    | st.text(alphabet=st.characters(max_codepoint=0xFFFF))  # two bytes: surrogates at the bounds too
    | st.text(alphabet=st.sampled_from(["\x00", "a", "中", "\ud7ff", "\ud800", "\udbff", "\udc00", "\udfff",
                                        "\ue000", "😀"]))
)


@settings(max_examples=1500, deadline=None)
@given(_texts)
def test_c_text_refused_is_has_bad_text(native: ModuleType, text: str) -> None:
    assert native.text_refused(text) is has_bad_text(text)
    assert text_refused(text) is has_bad_text(text)  # what callers use


def test_c_text_refused_at_the_bounds_and_for_what_is_not_text(native: ModuleType) -> None:
    for text, refused in (("", False), ("abc", False), ("a\x00", True), ("é\x00", True), ("中\x00", True),
                          ("😀\x00", True), ("\ud7ff", False), ("\ud800", True), ("中\udfff", True),
                          ("😀\udc00", True), ("\ue000😀", False)):
        assert native.text_refused(text) is refused, repr(text)
    assert native.text_refused(b"a\x00") is None and native.text_refused(None) is None  # Python's to refuse


# ---- loading ----

def test_a_stale_or_missing_build_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import integrations.ingest as package

    stale = ModuleType("integrations.ingest._speedups")
    stale.VERSION = speedups.VERSION - 1  # type: ignore[attr-defined]
    try:
        monkeypatch.setitem(sys.modules, "integrations.ingest._speedups", stale)
        monkeypatch.setattr(package, "_speedups", stale, raising=False)
        reloaded = importlib.reload(speedups)
        assert reloaded.canonical_and_hash is None and reloaded.UNAVAILABLE is not None
        assert "stale build" in reloaded.UNAVAILABLE
        monkeypatch.setitem(sys.modules, "integrations.ingest._speedups", None)  # import fails: not built
        monkeypatch.delattr(package, "_speedups")
        reloaded = importlib.reload(speedups)
        assert reloaded.Pseudonymiser is None and "not built" in (reloaded.UNAVAILABLE or "")
        assert pseudonymiser("k")("13812345678") == pseudonymiser_py("k")("13812345678")
        assert times_of(datetime(2026, 1, 5, tzinfo=UTC))[1] == "2026-01-05 00:00:00.000000"
        assert reloaded.text_refused is None and text_refused("a\x00") and not text_refused("a")
    finally:
        monkeypatch.undo()
        importlib.reload(speedups)
