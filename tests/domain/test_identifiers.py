"""Identifiers as people type them (groups, full-width digits, mixtures, inside Chinese text) are masked;
region codes, dates, times, money and counts are not (domain.identifiers through domain.privacy.mask)."""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import strategies as st

from domain.privacy import mask, pseudonym

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
SEPARATORS = st.sampled_from([" ", "-", ".", " - ", "－", "．", "\u3000", "\u2014"])
CHINESE = st.text(alphabet="来电反映群众称联系人的情况请核实处置，。：；、（）《》 ", max_size=12)


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=n, max_size=n)


@st.composite
def typed_identifiers(draw: st.DrawFn) -> tuple[str, list[str]]:
    """(the identifier's digits, the groups a person writes it in)."""
    kind = draw(st.sampled_from(["mobile", "landline", "id18", "id15"]))
    if kind == "mobile":
        number = "1" + draw(st.sampled_from("3456789")) + draw(digits(9))
        layout = draw(st.sampled_from([(11,), (3, 4, 4), (3, 8), (4, 3, 4), (7, 4)]))
        prefix = draw(st.sampled_from([[], ["86"], ["0086"]]))
    elif kind == "landline":
        area = "0" + draw(st.sampled_from(string.digits[1:])) + draw(digits(draw(st.integers(1, 2))))
        # Beijing, Shanghai, Guangzhou… (0 + 2 digits) have 8-digit numbers; elsewhere 7 or 8 digits.
        local = draw(st.sampled_from("23456789")) + draw(digits(7 if len(area) == 3 else draw(st.integers(6, 7))))
        number = area + local
        layout = draw(st.sampled_from([(len(area), len(local)), (len(area), len(local) - 4, 4)]))
        prefix = []
    elif kind == "id18":
        area = draw(st.sampled_from("12345678")) + draw(digits(5))
        birth = f"{draw(st.integers(1930, 2025))}{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}"
        number = area + birth + draw(digits(3)) + draw(st.sampled_from([*string.digits, "X", "x"]))
        layout = draw(st.sampled_from([(18,), (6, 8, 4), (6, 4, 4, 4), (6, 8, 3, 1), (3, 3, 8, 4)]))
        prefix = []
    else:
        area = draw(st.sampled_from("12345678")) + draw(digits(5))
        birth = f"{draw(st.integers(0, 99)):02d}{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}"
        number = area + birth + draw(digits(3))
        # One unbroken ASCII run of 15 digits is a grid's code: a person's old ID card is typed apart.
        layout = draw(st.sampled_from([(6, 6, 3), (6, 9), (3, 3, 6, 3), (6, 3, 3, 3)]))
        prefix = []
    groups, at = [], 0
    for size in layout:
        groups.append(number[at : at + size])
        at += size
    return (number.upper(), prefix + groups)


@st.composite
def written(draw: st.DrawFn) -> tuple[str, str]:
    """(the identifier's digits, as written in a sentence: separators, full-width, mixtures, Chinese around)."""
    number, groups = draw(typed_identifiers())
    fullwidth = draw(st.sampled_from(["none", "all", "mixed"]))
    out = []
    for i, group in enumerate(groups):
        if i:
            out.append(draw(SEPARATORS))
        for ch in group:
            wide = fullwidth == "all" or (fullwidth == "mixed" and draw(st.booleans()))
            out.append(chr(ord(ch) + 0xFEE0) if wide else ch)
    text = "".join(out)
    if len(groups) == 1 and fullwidth == "none" and len(number) == 15:
        text = "身份证" + text  # unbroken and ASCII: only named as an ID card is it one
    return number, draw(CHINESE) + text + draw(CHINESE)


def _digits_left(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text.translate(_FULLWIDTH)).upper()


@given(written())
def test_every_typed_identifier_is_masked(case: tuple[str, str]) -> None:
    number, text = case
    out = mask(text)
    left = _digits_left(out)
    assert number[3:-2] not in left or len(number[3:-2]) < 3, (text, out)
    assert out.count("*") >= len(number) - 5 - 4, (text, out)  # a country code's digits count among the 3
    assert len(out) == len(text)  # masked in place: separators and the Chinese around stay


# A community's code: county (6 digits), township (below 600 in the national scheme), village (3).
region_codes = st.builds(lambda a, b, t, v: f"{a}{b}{t:03d}{v}", st.sampled_from("123456"), digits(5),
                         st.integers(0, 599), digits(3))
grid_codes = st.builds(lambda a, b: a + b, region_codes, digits(3))


@st.composite
def not_identifiers(draw: st.DrawFn) -> str:
    """Region codes, dates, times, money and counts, in Chinese sentences."""
    parts = [
        draw(region_codes), draw(grid_codes),
        f"{draw(st.integers(2000, 2030))}-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}",
        f"{draw(st.integers(2000, 2030))}年{draw(st.integers(1, 12))}月{draw(st.integers(1, 28))}日",
        f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}",
        f"{draw(st.integers(0, 10**13)):,}元",
        f"{draw(st.integers(0, 10**6))}.{draw(st.integers(0, 99)):02d}万元",
        f"伤 {draw(st.integers(0, 999))} 人",
        " ".join(f"{draw(st.integers(0, 10**12)):,}".split(",")) + " 元",
    ]
    order = draw(st.permutations(parts))
    return "".join(p + draw(st.sampled_from(["，", "。", " ", "；", "、", "：", "  "])) for p in order)


@given(not_identifiers())
def test_no_false_positive_on_region_codes_dates_times_money_and_counts(text: str) -> None:
    assert mask(text) == text


@given(grid_codes, written())
def test_a_grid_code_stays_readable_beside_a_masked_identifier(grid: str, case: tuple[str, str]) -> None:
    number, text = case
    head = f"网格 {grid}："
    out = mask(head + text)
    assert out.startswith(head)
    assert number[3:-2] not in _digits_left(out[len(head) :])


def test_the_forms_measured_in_issue_18_and_the_grid_codes_of_issue_19() -> None:
    assert mask("来电 138-1234-5678") == "来电 138-****-**78"
    assert mask("身份证 510104 19800101 1234") == "身份证 510*** ******** **34"
    assert mask("手机１３９１２３４５６７８") == "手机１３９******７８"
    assert mask("座机 028-8765 4321") == "座机 028-**** **21"
    assert mask("（028）87654321") == "（028）******21"
    assert mask("证号 51010419800101123ｘ") == "证号 510*************3ｘ"
    # 510116001001001 holds the mobile-like 16001001001: it was masked as a phone; a grid is a place.
    assert mask("网格 510116001001001 报告") == "网格 510116001001001 报告"
    assert mask("身份证号510104800101123") == "身份证号510**********23"  # an old card, named as one
    assert mask("2026-01-11 13:45 伤 20 人 1,000,000元") == "2026-01-11 13:45 伤 20 人 1,000,000元"


def test_pseudonyms_and_link_like_urls_stay_readable() -> None:
    p = pseudonym("13812345678", "k")
    assert mask(f"来电人 {p}，电话 138 1234 5678") == f"来电人 {p}，电话 138 **** **78"
    url = "https://fh.test/a/v1.42.ack.mfrgg.1765432100.123456-789012-34567.654321-098765"
    assert mask(f"确认：{url} 。") == f"确认：{url} 。"
    assert mask("https://fh.test/?tel=13812345678") == "https://fh.test/?tel=138******78"


@given(st.sampled_from("12345678"), digits(5), st.integers(60, 99), st.integers(1, 12), st.integers(1, 28), digits(3),
       st.sampled_from(["来电人", "", "此人 ", "联系"]))
def test_an_old_card_of_someone_born_from_1960_is_masked_unnamed_and_unbroken(
        province: str, area: str, year: int, month: int, day: int, seq: str, before: str) -> None:
    # Its digits 7-9 (year and the month's first digit) are 600 or more: no township has such a number,
    # so it cannot be a grid's code, whatever stands before it.
    card = f"{province}{area}{year:02d}{month:02d}{day:02d}{seq}"
    out = mask(f"{before}{card}。")
    assert card not in out and out == f"{before}{card[:3]}{'*' * 10}{card[-2:]}。"


def test_old_cards_and_grid_codes_told_apart_by_the_township_digits() -> None:
    assert mask("报告人 510104800101123") == "报告人 510**********23"  # born 1980: not a grid
    assert mask("网格 510104599001001") == "网格 510104599001001"  # township 599: a place
    assert mask("报告人 510104591301123") == "报告人 510104591301123"  # born 1959 unnamed: read as a grid (a limit)
    assert mask("https://x/a?g=510104800101123") == "https://x/a?g=510**********23"
