"""Values as users read them, through the message catalogue: warning levels and statuses, routing steps
(``escalate-1`` → 第1次升级), tiers, channels, task kinds, statuses and outcomes, and the category values
a rule author labels in kinds.yaml.

The Chinese names stay where they are defined (domain/ keeps its vocabulary and knows nothing of
gettext); this module only renders them in the language in force. Pages, the CLI and notifications'
built-in context call :func:`label` (or :func:`step_label`, :func:`value_label`).

:func:`extract_vocabulary` is a babel extractor (babel.cfg): it lists every vocabulary name as a msgid, so
``pybabel extract`` and the completeness test see them although no ``_()`` call spells them out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from domain import assessment as ssra
from domain import tasks
from domain.kinds import RecordKinds
from domain.warnings import LEVELS
from integrations.i18n import N_, _
from integrations.workspace import names

ASSESSMENT_STATUS = {"draft": N_("材料收集中"), "scored": N_("已评分"), "decided": N_("已决策"),
                     "implementing": N_("实施中"), "reassessment": N_("待重新评估"), "closed": N_("已关闭")}
"""An assessment's status (integrations.store.assessment_models.AssessmentStatus) by its Chinese name."""
OUTBOX_STATUS = {"queued": N_("排队中"), "pending": N_("待发送"), "sent": N_("已发送"), "failed": N_("发送失败"),
                 "dead": N_("已放弃"), "silenced": N_("静默中"), "held": N_("暂缓"), "not_needed": N_("无需发送")}
"""A notification's status in the outbox by its Chinese name."""
REJECTION = {"bad_timestamp": N_("时间格式有误"), "naive_timestamp": N_("时间缺少时区"),
             "future_timestamp": N_("时间在未来"), "out_of_range": N_("时间超出范围"), "missing_region": N_("缺少地区"),
             "unknown_region": N_("未知地区"), "invalid_region": N_("地区代码无效"), "invalid_field": N_("字段无效"),
             "missing_field": N_("缺少字段"), "missing_id": N_("缺少编号"), "not_object": N_("不是 JSON 对象"),
             "unparseable": N_("无法解析"), "too_deep": N_("嵌套过深"), "bad_text": N_("含无效字符")}
"""Why an item was quarantined, by the code of its rejection (integrations.sources.mapping.Rejection)."""


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, Mapping[str, str]]:
    """Every value table, by name: value → Chinese name (the msgid).

    Built on first use, once.
    """
    level_name = {level: f"{name}色" for level, name in names.LEVEL_CN.items()}  # 红色, a name of its own
    return {
        "level": names.LEVEL_CN,
        "level_name": level_name,
        "level_gravity": {level.value: level.chinese for level in LEVELS},  # 红色（特别严重）: the reports' name
        "status": names.STATUS_CN,
        "tier": names.TIER_CN,
        "channel": names.CHANNEL_CN,
        # The timeline's own wording is the workspace's (names.py); rendered here like every other value.
        "event": names.EVENT_CN,
        "routed": names.ROUTED_CN,
        "task_kind": tasks.KIND_CN,
        "task_status": tasks.STATUS_CN,
        "task_outcome": tasks.OUTCOME_CN,
        # 社会稳定风险评估: the domain's Chinese names of its values, and the store's assessment statuses.
        "ssra_kind": {e.value: e.chinese for e in ssra.DecisionKind},
        "ssra_dimension": {e.value: e.chinese for e in ssra.Dimension},
        "ssra_level": {e.value: e.chinese for e in ssra.RiskLevel},
        "ssra_recommendation": {e.value: e.chinese for e in ssra.Recommendation},
        "ssra_outcome": {e.value: e.chinese for e in ssra.DecisionOutcome},
        "ssra_evidence": {e.value: e.chinese for e in ssra.EvidenceKind} | {"expert": N_("专家")},
        "assessment_status": ASSESSMENT_STATUS,
        "outbox_status": OUTBOX_STATUS,
        "rejection": REJECTION,
    }


_NUMBERED = {"escalate": N_("第{n}次升级"), "remind": N_("第{n}次催办"), "repeat": N_("第{n}次持续发生通知"),
             "stale": N_("第{n}次可办结提示")}
_STEPS = {"open": N_("首次通知"), "overdue": N_("超期通报"), "digest": N_("汇总通知"), "report": N_("每日报告"),
          "silence-remind": N_("静默到期提醒"), "task-propose": N_("网格任务建议办结"), "resolve": N_("办结告知")}
_RAISE = N_("等级上调为{level}")
_STEP = re.compile(r"^(?P<kind>[a-z]+)-(?P<n>\d+)$")


def label(table: str, value: str) -> str:
    """The name of ``value`` in the value table ``table`` (a key of :func:`vocabulary`) in the language in force;
    a value the table does not know is shown as it is (never hidden)."""
    name = vocabulary()[table].get(value)
    return _(name) if name else value


def step_label(step: str) -> str:
    """A routing step's name: ``escalate-1`` → 第1次升级 (escalation 1), ``raise-red`` → 等级上调为红色."""
    if step in _STEPS:
        return _(_STEPS[step])
    if step.startswith("raise-"):
        return _(_RAISE).format(level=label("level_name", step.removeprefix("raise-")))
    numbered = _STEP.match(step)
    if numbered and numbered["kind"] in _NUMBERED:
        return _(_NUMBERED[numbered["kind"]]).format(n=int(numbered["n"]))
    return step


def value_label(kinds: RecordKinds, kind: str, field: str, value: Any) -> str:
    """A category value as kinds.yaml labels it (``labels: {land: 征地}``), in the language in force;
    unlabelled values (and unknown kinds or fields) are shown as they are."""
    spec = kinds.kinds.get(kind)
    fs = spec.fields.get(field) if spec else None
    name = fs.labels.get(str(value)) if fs else None
    return _(name) if name else str(value)


def deployment_kinds() -> RecordKinds | None:
    """The deployment's record kinds (the rulebook's kinds file); ``None`` if they cannot be read."""
    from integrations.ingest.run import load_kinds  # here: the ingest imports this module's callers
    from integrations.settings import get_settings

    try:
        return load_kinds(get_settings().rulebook)
    except Exception:  # a label never fails a report; the identifier still names the kind
        return None


def kind_label(kind: str, kinds: RecordKinds | None) -> str:
    """A record kind as kinds.yaml titles it (``petition`` → 信访), in the language in force; a kind without
    a title, or no ``kinds`` (see :func:`deployment_kinds`), shows the kind as it is (never hidden)."""
    spec = kinds.kinds.get(kind) if kinds is not None else None
    return _(spec.title) if spec is not None and spec.title != kind else kind


def vocabulary_msgids(kinds: RecordKinds | None = None) -> Iterator[str]:
    """Every Chinese name this module renders: the tables, the step names, the kinds' titles and labels."""
    for table in vocabulary().values():
        yield from table.values()
    yield from _NUMBERED.values()
    yield from _STEPS.values()
    yield _RAISE
    for spec in (kinds.kinds.values() if kinds else ()):
        yield spec.title
        for fs in spec.fields.values():
            yield from fs.labels.values()


def extract_vocabulary(fileobj: Any, keywords: Any, comment_tags: Any,
                       options: Mapping[str, Any]) -> Iterator[tuple[int, str, str, list[str]]]:
    """babel extractor (babel.cfg): the vocabulary's msgids, the labels of the shipped rules/kinds.yaml
    included. The file babel hands over is this module; what it lists is read from the running code."""
    from integrations.settings import PACKAGE_ROOT

    kinds = RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")
    for msgid in dict.fromkeys(vocabulary_msgids(kinds)):
        yield 1, "_", msgid, ["vocabulary"]
