"""Pseudonyms and masking."""

from __future__ import annotations

import string
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from domain.privacy import is_pseudonym, mask, pseudonym, pseudonymise_fields, pseudonymiser

digits = st.text(alphabet=string.digits, min_size=17, max_size=17)
id_cards = st.builds(lambda d, c: d + c, digits, st.sampled_from([*list(string.digits), "X"]))
phones = st.builds(
    lambda a, b: "1" + a + b,
    st.sampled_from("3456789"),
    st.text(alphabet=string.digits, min_size=9, max_size=9),
)
keys = st.binary(min_size=1, max_size=32)


@given(st.text(min_size=1), keys)
def test_same_input_same_pseudonym(value: str, key: bytes) -> None:
    assert pseudonym(value, key) == pseudonym(value, key)
    assert is_pseudonym(pseudonym(value, key))


@given(id_cards, keys, keys)
def test_different_key_different_pseudonym(value: str, k1: bytes, k2: bytes) -> None:
    if k1 != k2:
        assert pseudonym(value, k1) != pseudonym(value, k2)


def test_pseudonym_shape_normalisation_and_idempotence() -> None:
    p = pseudonym("51010419900101123x", "k")
    assert p.startswith("p_") and len(p) == 22
    assert pseudonym("510104 19900101 123X", "k") == p
    assert pseudonym(p, "k") == p  # replaying a quarantined (already pseudonymised) payload


# Around an identifier, text that does not run into it: a digit or letter run on would make another
# number (``"5"`` + a mobile is a 12-digit region code), which is tested apart.
joins = st.text(alphabet=st.characters(exclude_categories=["Nd", "Lu", "Ll"], exclude_characters="X"))


@given(joins, id_cards, joins, phones, joins)
def test_mask_never_leaks_a_full_id_or_phone(a: str, id_card: str, b: str, phone: str, c: str) -> None:
    out = mask(a + id_card + b + phone + c)
    assert id_card not in out
    assert phone not in out


@given(st.text(alphabet=string.digits, min_size=1, max_size=3).filter(lambda s: s[0] != "0"), id_cards, phones)
def test_digits_run_together_are_masked_unless_they_have_a_region_codes_form(lead: str, id_card: str,
                                                                            phone: str) -> None:
    for run in (id_card + phone, lead + id_card, lead + phone):
        out = mask(f"号码{run}。")
        if len(run) in (12, 15):  # the form of a community's or a grid's code (never starting 0): a place
            assert out == f"号码{run}。"
        else:
            assert id_card not in out and phone not in out


def test_mask_keeps_first_three_and_last_two_and_leaves_codes_alone() -> None:
    assert mask("身份证51010419900101123X，电话13812345678") == "身份证510*************3X，电话138******78"
    assert mask("网格 510104001002003 社区 510104001002") == "网格 510104001002003 社区 510104001002"
    assert mask("护照E12345678") == "护照E12****78"
    p = pseudonym("13812345678", "k")
    assert mask(f"来电人 {p}") == f"来电人 {p}"


def test_pseudonymise_fields_only_touches_personal_fields() -> None:
    attrs = {"person": "51010419900101123X", "people": 5, "subject": "征地", "none": None}
    out = pseudonymise_fields(attrs, {"person", "none"}, "k")
    assert out["person"] == pseudonym("51010419900101123X", "k")
    assert out["people"] == 5 and out["subject"] == "征地" and out["none"] is None
    assert attrs["person"] == "51010419900101123X"  # a copy, not in place



@given(st.binary(max_size=100), st.text(min_size=1, max_size=40))
def test_pseudonym_is_hmac_sha256_of_the_normalised_identifier(key: bytes, value: str) -> None:
    # The ingest's precomputed pads must give exactly the standard HMAC (keys beyond 64 bytes included).
    import hashlib
    import hmac

    from domain.privacy import normalise_identifier

    expected = "p_" + hmac.new(key, normalise_identifier(value).encode("utf-8"), hashlib.sha256).hexdigest()[:20]
    assert pseudonym(value, key) == (value if is_pseudonym(value) else expected)


@given(st.text(min_size=1, max_size=30), st.binary(min_size=1, max_size=80))
def test_the_uncached_pseudonymiser_agrees_with_pseudonym(value: str, key: bytes) -> None:
    one = pseudonymiser(key)
    assert one(value) == pseudonym(value, key)
    assert one(one(value)) == one(value)  # a pseudonym passes through unchanged


def test_full_width_dotted_and_bracketed_forms_are_one_person() -> None:
    assert pseudonym("１３９．１２３４．５６７８", "k") == pseudonym("13912345678", "k")
    assert pseudonym("５１０１０４ １９９００１０１ １２３ｘ", "k") == pseudonym("51010419900101123X", "k")
    assert pseudonym("(028)8765-4321", "k") == pseudonym("02887654321", "k")


_FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
seps = st.sampled_from(["", " ", "-", ".", "－", "　", " - "])


def _written(groups: list[str], sep: str, full_width: bool) -> str:
    text = sep.join(groups)
    return text.translate(_FULL) if full_width else text


def _digits_only(text: str) -> str:
    back = str.maketrans("０１２３４５６７８９Ｘ", "0123456789X")
    return "".join(ch for ch in text.translate(back) if ch.isdigit() or ch == "X")


@given(joins, phones, seps, st.booleans(), st.booleans(), joins)
def test_phones_as_people_write_them_are_masked(a: str, phone: str, sep: str, full: bool, plus86: bool,
                                                c: str) -> None:
    written = ("+86 " if plus86 else "") + _written([phone[:3], phone[3:7], phone[7:]], sep, full)
    out = mask(a + written + c)
    assert phone not in _digits_only(out), (written, out)


real_ids = st.builds(
    lambda area, born, seq, check: f"{area}{born:%Y%m%d}{seq:03d}{check}",
    st.integers(110000, 659999).map(str), st.dates(min_value=date(1920, 1, 1), max_value=date(2025, 12, 31)),
    st.integers(0, 999), st.sampled_from([*string.digits, "X"]),
)
"""ID numbers as they are issued: an area code, a date of birth, a sequence and a check character."""


@given(joins, real_ids, seps, st.booleans(), joins)
def test_id_numbers_as_people_write_them_are_masked(a: str, id_card: str, sep: str, full: bool, c: str) -> None:
    written = _written([id_card[:6], id_card[6:14], id_card[14:]], sep, full)
    out = mask(a + written + c)
    assert id_card not in _digits_only(out), (written, out)
