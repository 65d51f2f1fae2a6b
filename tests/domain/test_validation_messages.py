"""pydantic's refusals in the project's words: each error names its field, in the catalogue, never in
pydantic's English nor with its documentation link."""

from __future__ import annotations

from enum import StrEnum

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from domain.messages import N_, Message
from domain.validation_messages import error_message, validation_messages


class Kind(StrEnum):
    land = "land"
    other = "other"


class Model(BaseModel):
    kind: Kind
    people: int = Field(ge=0)
    title: str = Field(min_length=1)
    share: float = Field(gt=0, le=1)
    on: str = ""

    @field_validator("on")
    @classmethod
    def _on(cls, value: str) -> str:
        if value == "bad":
            raise ValueError(Message(N_("无法识别的日期 {value}"), value=repr(value)))
        return value


def _said(**fields: object) -> list[Message]:
    with pytest.raises(ValidationError) as caught:
        Model.model_validate({"kind": "land", "people": 1, "title": "x", "share": 0.5, **fields})
    return validation_messages(caught.value)


@pytest.mark.parametrize(("fields", "said"), [
    ({"kind": "war"}, "kind 须为 'land', 'other' 之一；得到 'war'"),
    ({"people": "many"}, "people 须为整数，得到 'many'"),
    ({"people": -1}, "people 须不小于 0，得到 -1"),
    ({"title": ""}, "title 不能为空"),
    ({"share": 0}, "share 须大于 0，得到 0"),
    ({"share": 2}, "share 须不大于 1，得到 2"),
    ({"on": "bad"}, "on：无法识别的日期 'bad'"),
])
def test_each_error_names_its_field_in_chinese(fields: dict[str, object], said: str) -> None:
    messages = _said(**fields)
    assert [str(m) for m in messages] == [said]
    assert all(isinstance(m, Message) for m in messages)


def test_a_missing_field_and_a_whole_object_error() -> None:
    with pytest.raises(ValidationError) as caught:
        Model.model_validate({})
    assert [str(m) for m in validation_messages(caught.value)] == [
        "缺少 kind", "缺少 people", "缺少 title", "缺少 share"]
    assert str(error_message({"type": "unheard_of", "loc": (), "input": 3})) == "整体 的取值无效：3"


def test_a_long_input_is_not_echoed_whole_and_the_caller_may_name_the_field() -> None:
    message = error_message({"type": "int_parsing", "loc": ("x",), "input": "9" * 500}, field="FENGHUO_X")
    assert str(message).startswith("FENGHUO_X 须为整数，得到 '999") and len(message) < 120
