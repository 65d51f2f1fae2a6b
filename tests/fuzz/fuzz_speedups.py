"""libFuzzer harness: the C extension ``integrations.ingest._speedups`` against its Python references.

Each input is decoded into one call of one C function — ``canonical_and_hash`` (attributes of every
JSON-ish type, odd keys, lone surrogates, huge ints, non-finite floats), ``Pseudonymiser`` (ASCII and
not, up to 200 characters) and ``times_of`` (fixed offsets, years 1 to 9999) — and the reference
computes the same (:func:`integrations.store.prepared.canonical_json` with ``hash_content`` and
``utc_text``, :func:`domain.privacy.pseudonymiser`). Where C answers (``None`` is "left to Python"),
both must give equal results, or both raise.

    uv run python tests/fuzz/fuzz_speedups.py /tmp/corpus-speedups tests/fuzz/seeds/speedups -max_total_time=600
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz.atheris_main import fuzz, instrumented

with instrumented():
    from domain.privacy import pseudonymiser
    from integrations.ingest import _speedups
    from integrations.store.prepared import canonical_json, hash_content, utc_text

import atheris

KEY = b"fuzz-key"
REFERENCE = pseudonymiser(KEY)
NATIVE = _speedups.Pseudonymiser(KEY, REFERENCE)


def _outcome(call: Any, *args: Any) -> tuple[str, Any]:
    """``("ok", result)`` or ``("raised", exception type name)``: what "equal, or both raise" compares."""
    try:
        return "ok", call(*args)
    except Exception as exc:  # any exception is an outcome to compare, not a crash of the harness
        return "raised", type(exc).__name__


def _text(fdp: atheris.FuzzedDataProvider, most: int) -> str:
    n = fdp.ConsumeIntInRange(0, most)
    text: str = fdp.ConsumeUnicode(n) if fdp.ConsumeBool() else fdp.ConsumeUnicodeNoSurrogates(n)
    return text


def _value(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> Any:
    pick = fdp.ConsumeIntInRange(0, 9)
    if pick == 0:
        return None
    if pick == 1:
        return fdp.ConsumeBool()
    if pick == 2:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 40))  # up to 320 bits: past long long
    if pick == 3:
        return fdp.ConsumeFloat()  # NaN and infinities included
    if pick == 4 and depth < 3:
        return [_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    if pick == 5 and depth < 3:
        return {_text(fdp, 4): _value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))}
    if pick == 6:
        return fdp.ConsumeRegularFloat()
    return _text(fdp, 40)


def _attributes(fdp: atheris.FuzzedDataProvider) -> dict[Any, Any]:
    attrs: dict[Any, Any] = {}
    for _ in range(fdp.ConsumeIntInRange(0, 40)):  # past the C code's MAX_KEYS too
        key: Any = _text(fdp, 12) if fdp.ConsumeProbability() < 0.95 else fdp.ConsumeIntInRange(0, 9)
        attrs[key] = _value(fdp)
    return attrs


def _canonical_and_hash(kind: str, ts: float, region: str, attrs: dict[str, Any]) -> tuple[str, str]:
    text = canonical_json(attrs)
    return text, hash_content(kind, ts, region, text)


def _times(at: datetime) -> tuple[float, str]:
    return at.timestamp(), utc_text(at)


def _check_hash(fdp: atheris.FuzzedDataProvider) -> None:
    kind, region = _text(fdp, 20), _text(fdp, 20)
    ts = fdp.ConsumeFloat() if fdp.ConsumeBool() else float(fdp.ConsumeIntInRange(0, 4_102_444_800))
    attrs = _attributes(fdp)
    native = _outcome(_speedups.canonical_and_hash, kind, ts, region, attrs)
    if native == ("ok", None):
        return  # left to Python
    reference = _outcome(_canonical_and_hash, kind, ts, region, attrs)
    if native[0] == "raised" and reference[0] == "raised":
        return
    assert native == reference, (kind, ts, region, attrs, native, reference)


def _check_pseudonym(fdp: atheris.FuzzedDataProvider) -> None:
    if fdp.ConsumeBool():
        alphabet = "abcxyzABCXYZ0189-_ 后"
        value = "".join(alphabet[b % len(alphabet)] for b in fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200)))
    else:
        value = _text(fdp, 200)
    native, reference = _outcome(NATIVE, value), _outcome(REFERENCE, value)
    assert native == reference, (value, native, reference)


def _check_times(fdp: atheris.FuzzedDataProvider) -> None:
    try:
        offset = timezone(timedelta(minutes=fdp.ConsumeIntInRange(-1439, 1439),
                                    microseconds=fdp.ConsumeIntInRange(0, 999_999) if fdp.ConsumeBool() else 0))
        # Mostly around C's range (1970-2099), where it answers; now and then anywhere.
        year = fdp.ConsumeIntInRange(1965, 2105) if fdp.ConsumeProbability() < 0.9 else fdp.ConsumeIntInRange(1, 9999)
        at = datetime(year, fdp.ConsumeIntInRange(1, 12), fdp.ConsumeIntInRange(1, 31),
                      fdp.ConsumeIntInRange(0, 23), fdp.ConsumeIntInRange(0, 59), fdp.ConsumeIntInRange(0, 59),
                      fdp.ConsumeIntInRange(0, 999_999), offset)
    except ValueError:  # 31 February, an offset of a day: not a datetime at all
        return
    native = _outcome(_speedups.times_of, at)
    if native == ("ok", None):
        return
    reference = _outcome(_times, at)
    if native[0] == "raised" and reference[0] == "raised":
        return
    assert native == reference, (at, native, reference)


CHECKS = (_check_hash, _check_pseudonym, _check_times)


def test_one_input(data: bytes) -> None:
    """One input: its first byte picks the C function, the rest makes its arguments (all of the input for
    one call: sharing it out, the last call would mostly get the providers' defaults)."""
    if data:
        CHECKS[data[0] % len(CHECKS)](atheris.FuzzedDataProvider(data[1:]))


if __name__ == "__main__":
    fuzz(test_one_input)
