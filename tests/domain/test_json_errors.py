"""JSON errors in Chinese: each of ``json``'s messages a person can cause, and the unknown kept as it is."""

from __future__ import annotations

import json

import pytest

from domain.json_errors import json_reason


@pytest.mark.parametrize(("text", "says"), [
    ("", "缺少值"),
    ('{"a": ', "缺少值"),
    ("{'a': 1}", "键名须用双引号"),
    ('{"a": 1,}', "键名须用双引号"),
    ('{"a" 1}', "缺少冒号"),
    ('{"a": 1 "b": 2}', "缺少逗号"),
    ('{"a": "x', "缺少结尾的双引号"),
    ('{"a": "x\ny"}', "控制字符"),
    ('{"a": "\\q"}', "无效的转义"),
    ('{"a": "\\u12"}', "\\uXXXX"),
    ('{"a": 1} {"b": 2}', "多余内容"),
    ('\ufeff{"a": 1}', "BOM"),
])
def test_each_reason_is_said_in_chinese(text: str, says: str) -> None:
    with pytest.raises(json.JSONDecodeError) as err:
        json.loads(text)
    reason = json_reason(err.value)
    assert says in reason and not any("a" <= c <= "z" for c in reason.replace("UTF-8", "").replace("JSON", "")
                                      .replace("BOM", "").replace("uXXXX", ""))


def test_a_message_it_does_not_know_stays_as_json_wrote_it() -> None:
    assert json_reason(json.JSONDecodeError("Something new", "x", 0)) == "Something new"
