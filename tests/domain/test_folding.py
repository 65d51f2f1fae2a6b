"""Folding firings into warnings (domain.warnings.fold, made_firing) against the plain construction:
``dataclasses.replace`` and the dataclasses' own ``__init__``, as the fold was written before."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.warnings import (
    LEVELS,
    MAX_RECORD_REFS,
    Change,
    Firing,
    RefRing,
    Status,
    WarningState,
    fold,
    fold_in_place,
    made_firing,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def reference_fold(current: WarningState | None, firing: Firing) -> tuple[WarningState, Change]:
    """The fold as it was: a new state by ``WarningState(...)`` or ``dataclasses.replace``."""
    if current is None or current.status is Status.resolved:
        return WarningState(fingerprint=firing.fingerprint, rule=firing.rule, level=firing.level,
                            region=firing.region, first_at=firing.at, last_at=firing.at, occurrences=1,
                            explanation=firing.explanation, summary=firing.summary, title=firing.title,
                            records=firing.records[:MAX_RECORD_REFS],
                            rulebook_version=firing.rulebook_version), Change.opened
    raised = firing.level.rank > current.level.rank
    refs = tuple(dict.fromkeys(current.records + firing.records))
    if len(refs) > MAX_RECORD_REFS:
        refs = refs[: MAX_RECORD_REFS // 2] + refs[-MAX_RECORD_REFS // 2 :]
    return replace(current, level=firing.level if raised else current.level,
                   last_at=max(current.last_at, firing.at), occurrences=current.occurrences + 1, records=refs,
                   explanation=firing.explanation if raised else current.explanation,
                   summary=firing.summary if raised else current.summary,
                   rulebook_version=firing.rulebook_version or current.rulebook_version), (
        Change.raised if raised else Change.updated)


firings = st.builds(
    lambda level, minutes, refs, words, version, fast: _built(fast,
        rule="r", level=level, at=T0 + timedelta(minutes=minutes), group={"community": "c1"},
        region="510104001001", records=tuple(refs), explanation=words, summary=words, title="t",
        values={"count": minutes}, rulebook_version=version),
    st.sampled_from(LEVELS), st.integers(-30, 300), st.lists(st.sampled_from([f"s/{i}" for i in range(70)]),
                                                             max_size=4),
    st.sampled_from(["", "为何 why", "另一个"]), st.sampled_from(["", "v1", "v2"]), st.booleans(),
)


def _built(fast: bool, **fields: object) -> Firing:
    """A firing by its dataclass, or (``fast``) as the engine makes it (:func:`made_firing`)."""
    plain = Firing(**fields)  # type: ignore[arg-type]
    return made_firing(plain.fingerprint, **fields) if fast else plain


@given(st.lists(firings, max_size=80), st.sets(st.integers(0, 79), max_size=3))
def test_fold_equals_replace(stream: list[Firing], resolved_at: set[int]) -> None:
    fast: WarningState | None = None
    plain: WarningState | None = None
    for i, f in enumerate(stream):
        if i in resolved_at and fast is not None and plain is not None:  # resolved: the next opens anew
            fast, plain = replace(fast, status=Status.resolved), replace(plain, status=Status.resolved)
        got, want = fold(fast, f), reference_fold(plain, f)
        assert got == want
        assert got[0].__dict__ == want[0].__dict__  # no field more or less than a dataclass-built state
        fast, plain = got[0], want[0]


def test_made_firing_equals_the_dataclass() -> None:
    fields = {"rule": "r", "level": LEVELS[1], "at": T0, "group": {"a": 1}, "region": "510104001001",
              "records": ("s/1",), "explanation": "e", "summary": "s", "title": "t", "values": {"count": 3},
              "rulebook_version": "v"}
    plain = Firing(**fields)  # type: ignore[arg-type]
    fast = made_firing(plain.fingerprint, **fields)
    assert fast == plain and fast.fingerprint == plain.fingerprint
    assert fast.__dict__ == {**plain.__dict__, "fingerprint": plain.fingerprint}


def test_a_long_run_of_single_record_firings_keeps_the_first_and_latest_refs() -> None:
    """A window over its threshold for 150 records (some seen twice): past 50 refs the fold keeps the
    first 25 and the latest 25, as the reference does, firing after firing."""
    fast: WarningState | None = None
    plain: WarningState | None = None
    for i in range(150):
        ref = f"s/{i - 3 if i % 7 == 0 and i > 3 else i}"  # every seventh firing names an earlier record again
        f = _built(i % 2 == 0, rule="r", level=LEVELS[0], at=T0 + timedelta(minutes=i), group={"c": 1},
                   region="510104001001", records=(ref,), explanation="", summary="", title="t",
                   values={"count": i}, rulebook_version="v")
        (fast, _), (plain, _) = fold(fast, f), reference_fold(plain, f)
        assert fast == plain
    assert fast is not None and len(fast.records) == MAX_RECORD_REFS and fast.records[0] == "s/0"
    assert fast.records[-1] == "s/149"


@given(st.lists(firings, max_size=120), st.sets(st.integers(0, 119), max_size=3))
def test_fold_in_place_equals_fold_for_what_does_not_raise(stream: list[Firing], resolved_at: set[int]) -> None:
    """The backtest's in-place fold of a one-record firing that does not raise the level: the state the
    fold would make, field by field (the others go through the fold in both)."""
    held: WarningState | None = None
    plain: WarningState | None = None
    for i, f in enumerate(stream):
        if i in resolved_at and held is not None and plain is not None:
            held, plain = replace(held, status=Status.resolved), replace(plain, status=Status.resolved)
        want = fold(plain, f)
        quiet = (held is not None and held.status is not Status.resolved and len(f.records) == 1
                 and f.level.rank <= held.level.rank)
        if quiet:
            assert held is not None
            fold_in_place(held, f.at, f.records[0], f.rulebook_version)
        else:
            held = fold(held, f)[0]
        assert want[1] is Change.updated or not quiet
        assert held.__dict__ == want[0].__dict__
        plain = want[0]


@given(st.lists(firings, max_size=160), st.sets(st.integers(0, 159), max_size=3))
def test_a_ring_of_refs_folds_as_the_tuples_do(stream: list[Firing], resolved_at: set[int]) -> None:
    """In-place folds with the refs in a :class:`RefRing` (made when the refs fit, written back before
    any other fold): the states the fold makes, after every firing."""
    held: WarningState | None = None
    plain: WarningState | None = None
    ring: RefRing | None = None
    for i, f in enumerate(stream):
        if i in resolved_at and held is not None and plain is not None:
            if ring is not None:
                ring.write(held)
                ring = None
            held, plain = replace(held, status=Status.resolved), replace(plain, status=Status.resolved)
        plain = fold(plain, f)[0]
        if (held is not None and held.status is not Status.resolved and len(f.records) == 1
                and f.level.rank <= held.level.rank):
            if ring is None and RefRing.fits(held.records):
                ring = RefRing(held.records)
            fold_in_place(held, f.at, f.records[0], f.rulebook_version, ring)
        else:
            if ring is not None and held is not None:
                ring.write(held)
                ring = None
            held = fold(held, f)[0]
        if ring is not None:
            ring.write(held)
        assert held.__dict__ == plain.__dict__


def test_a_ring_keeps_the_first_and_latest_refs_of_a_long_run() -> None:
    """150 one-record firings (every seventh naming an earlier record again) into a ring: the fold's refs."""
    f0 = Firing(rule="r", level=LEVELS[0], at=T0, group={"c": 1}, region="510104001001", records=("s/0",),
                explanation="", summary="", title="t", values={}, rulebook_version="v")
    plain, _ = fold(None, f0)
    held, _ = fold(None, f0)
    ring = RefRing(held.records)
    for i in range(1, 150):
        ref = f"s/{i - 3 if i % 7 == 0 and i > 3 else i}"
        plain, _ = fold(plain, replace(f0, at=T0 + timedelta(minutes=i), records=(ref,)))
        fold_in_place(held, T0 + timedelta(minutes=i), ref, "v", ring)
    ring.write(held)
    assert held == plain and len(held.records) == MAX_RECORD_REFS and held.records[-1] == "s/149"
