"""A rule test's bad record is refused in the language in force: the refusal is a Message, never Chinese under en."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.i18n import explain
from rules.run.testing import record_from_dict
from tests.cjk import has_cjk
from tests.language import speak

GOOD: dict[str, Any] = {"kind": "petition", "at": "2026-01-05T09:00:00+08:00", "region": "510104001001"}
BAD = [
    {**GOOD, "at": "yesterday"},
    {**GOOD, "region": "51"},
    {**GOOD, "at": "2026-01-05T09:00:00"},
    {k: v for k, v in GOOD.items() if k != "region"},
]


@pytest.mark.parametrize("record", BAD)
def test_a_bad_test_record_is_refused_in_the_language_in_force(
    monkeypatch: pytest.MonkeyPatch, record: dict[str, Any]
) -> None:
    with pytest.raises(ValueError) as chinese:
        record_from_dict(record, 1, None)
    assert has_cjk(explain(chinese.value)), explain(chinese.value)
    speak(monkeypatch, "en")
    with pytest.raises(ValueError) as english:
        record_from_dict(record, 1, None)
    assert not has_cjk(explain(english.value)), explain(english.value)
