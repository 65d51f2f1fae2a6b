"""Category labels in kinds.yaml: Chinese names of a field's fixed values, checked when the file loads."""

from __future__ import annotations

import pytest

from domain.kinds import KindsError, RecordKinds


def test_kinds_labels_name_only_declared_values() -> None:
    with pytest.raises(KindsError, match="未知的取值 bogus"):
        RecordKinds.from_mapping({"kinds": {"k": {"fields": {
            "f": {"type": "string", "values": ["a"], "labels": {"a": "甲", "bogus": "乙"}}}}}})
    with pytest.raises(KindsError, match="labels 须把字段的取值对应到名称"):
        RecordKinds.from_mapping({"kinds": {"k": {"fields": {"f": {"type": "string", "labels": {"a": "甲"}}}}}})
