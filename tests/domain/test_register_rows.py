"""A register file's header and rows, checked without a store: columns in Chinese or English, each row kept
or refused once with its line, and no message ever repeats an ID number."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.privacy import pseudonymiser
from domain.register_rows import REASONS, HeaderError, check_rows, map_header
from domain.registers import CareCategories

CATS = CareCategories.from_mapping({"categories": [{"key": "living_alone_elderly", "title": "独居老人",
                                                    "interval": "7d"}]})
GRIDS = {"510104001001001": "春兴湾社区第1网格"}
PSEUDONYM = pseudonymiser("k")


def test_headers_in_chinese_or_english_with_extras_ignored() -> None:
    assert map_header(["\ufeff证件号码", "人员类别 ", "所属网格", "纳入日期", "备注"]) == {
        "id_number": 0, "category": 1, "grid": 2, "start_date": 3}
    assert map_header(["ID_Number", "Category", "grid", "start_date", "end_date"])["end_date"] == 4


def test_missing_or_doubled_columns_refuse_the_file() -> None:
    with pytest.raises(HeaderError, match=r"缺少必需的列：网格.*开始日期"):
        map_header(["身份证号", "类别"])
    with pytest.raises(HeaderError, match="出现两次"):
        map_header(["身份证号", "证件号码", "类别", "网格", "开始日期"])


ROWS = st.lists(st.tuples(
    st.from_regex(r"\A[0-9]{17}[0-9X]\Z") | st.text(max_size=20),
    st.sampled_from(["独居老人", "living_alone_elderly", "低保户", ""]),
    st.sampled_from(["510104001001001", "春兴湾社区第1网格", "510104099099001", ""]),
    st.sampled_from(["2026-01-05", "2026/1/5", "2026-02-30", "", "昨天"]),
    st.sampled_from(["", "2026-12-31", "2025-01-01", "x"]),
), max_size=15)


@settings(max_examples=60)
@given(ROWS)
def test_each_row_is_kept_or_refused_once_and_messages_never_show_the_id(rows: list[tuple[str, ...]]) -> None:
    numbered = [(i + 2, list(r)) for i, r in enumerate(rows)]
    columns = map_header(["身份证号", "类别", "网格", "开始日期", "结束日期"])
    kept, problems = check_rows(numbered, columns, categories=CATS, grids=GRIDS, pseudonym=PSEUDONYM)
    blank = {line for line, cells in numbered if not any(c.strip() for c in cells)}
    assert sorted([e.line for e in kept] + [p.line for p in problems]) == sorted(set(dict(numbered)) - blank)
    assert all(p.reason in REASONS for p in problems)
    for line, cells in numbered:
        if re.fullmatch(r"[0-9]{17}[0-9X]", cells[0]):
            assert not any(cells[0] in p.message for p in problems if p.line == line)
    assert len({(e.person, e.category) for e in kept}) == len(kept)
    assert all(e.person.startswith("p_") and e.grid == "510104001001001" for e in kept)
