"""Task declarations, assignee nodes, and the task state machine (domain/tasks.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain import tasks
from domain.escalation import EscalationPolicy, responsible_node
from domain.regions import Tier
from domain.tasks import TaskRefused, TaskRule, TaskState, plan_tasks

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
SHIPPED = EscalationPolicy.load(Path(__file__).parents[2] / "integrations" / "data" / "escalation.yaml")
GRID, COMMUNITY, STREET = "510104001001002", "510104001001", "510104001000"


def _plan(rule: str, level: str, region: str, categories: tuple[str, ...] = (), person: str | None = None,
          policy: EscalationPolicy = SHIPPED) -> list[tasks.PlannedTask]:
    return plan_tasks(policy.tasks, rule=rule, level=level, region=region, categories=categories, now=T0,
                      responsible=responsible_node(region, level, policy), person=person)


def test_shipped_defaults_verify_yellow_and_above_by_the_grid_within_4h() -> None:
    (task,) = _plan("collective-petition", "yellow", GRID)
    assert (task.kind, task.region, task.tier, task.due_at) == ("verify", GRID, "grid", T0 + timedelta(hours=4))
    assert _plan("collective-petition", "blue", GRID) == []


@pytest.mark.parametrize("rule", ["source-stale", "ssra-follow-up"])
def test_warnings_about_a_source_or_a_decision_send_nobody_to_look(rule: str) -> None:
    """A quiet source or a decision under follow-up is the duty office's business, not a place to visit."""
    assert _plan(rule, "red", GRID) == []
    entry = TaskRule.model_validate({"name": "all-but", "rules": ["*"], "except_rules": ["ssra-*"],
                                     "create": [{"kind": "verify", "assignee": "grid", "due": "4h"}]})
    assert entry.matches("collective-petition", "red") and not entry.matches("ssra-follow-up", "red")


def test_a_warning_on_a_community_has_no_grid_its_grid_task_goes_to_the_community() -> None:
    (task,) = _plan("collective-petition", "orange", COMMUNITY)
    assert (task.region, task.tier) == (COMMUNITY, "community")
    (street,) = _plan("street-cluster", "red", STREET)
    assert (street.region, street.tier) == (STREET, "street")


def test_disputes_are_mediated_by_the_community_within_3_days_by_rule_or_category() -> None:
    by_rule = _plan("wage-arrears-sum", "blue", GRID)
    by_category = _plan("some-rule", "blue", GRID, categories=("dispute",))
    for planned in (by_rule, by_category):
        (task,) = planned
        assert (task.kind, task.region, task.due_at) == ("mediate", COMMUNITY, T0 + timedelta(days=3))
    kinds = {t.kind for t in _plan("unresolved-dispute-then-petition", "orange", GRID)}
    assert kinds == {"mediate", "verify"}


def test_a_missed_care_visit_is_one_visit_by_the_grid_within_24h_with_its_person() -> None:
    (task,) = _plan("care-visit-missed", "yellow", GRID, person="p_0123456789abcdef0123")
    assert (task.kind, task.region, task.person) == ("visit", GRID, "p_0123456789abcdef0123")
    assert task.due_at == T0 + timedelta(hours=24)


def test_a_duty_unit_task_goes_to_the_responsible_node_and_duplicates_collapse() -> None:
    policy = EscalationPolicy.model_validate({"tasks": [
        {"name": "a", "rules": ["*petition*"], "create": [{"kind": "mediate", "assignee": "unit:petition-office",
                                                          "due": "2d"}]},
        {"name": "b", "rules": ["*"], "create": [{"kind": "mediate", "assignee": "unit:petition-office",
                                                 "due": "9d"}]}]})
    (task,) = _plan("collective-petition", "yellow", GRID, policy=policy)
    assert (task.region, task.tier, task.unit, task.due_at) == (STREET, "street", "petition-office",
                                                                T0 + timedelta(days=2))
    assert responsible_node(GRID, "yellow", policy) == (Tier.street, STREET)


@pytest.mark.parametrize("bad", [
    {"name": "x", "create": [{"kind": "verify", "assignee": "grid", "due": "4h"}]},  # selects nothing
    {"name": "x", "rules": ["*"], "create": [{"kind": "inspect", "assignee": "grid", "due": "4h"}]},
    {"name": "x", "rules": ["*"], "create": [{"kind": "verify", "assignee": "city", "due": "4h"}]},
    {"name": "x", "rules": ["*"], "create": [{"kind": "verify", "assignee": "grid", "due": "0h"}]},
    {"name": "x", "rules": ["*"], "levels": ["purple"], "create": [{"kind": "verify", "assignee": "grid",
                                                                    "due": "4h"}]},
    {"name": "x", "rules": ["*"], "create": []},
])
def test_bad_declarations_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TaskRule.model_validate(bad)


def test_tasks_are_pinned_with_the_policy_and_absent_tasks_keep_the_old_snapshot() -> None:
    snap = SHIPPED.snapshot()
    assert EscalationPolicy.from_snapshot(snap) == SHIPPED and snap["tasks"]
    assert "tasks" not in EscalationPolicy().snapshot()


@pytest.mark.parametrize(("text", "key"), [("属实", "confirmed"), ("不属实", "unfounded"), ("已化解", "defused"),
                                           ("需上报", "escalate"), ("Escalate", "escalate"), ("maybe", None)])
def test_outcomes_in_chinese_or_english(text: str, key: str | None) -> None:
    assert tasks.parse_outcome(text) == key


def test_each_outcome_proposes_and_never_resolves() -> None:
    assert [tasks.outcome_effect("verify", o).action for o in tasks.OUTCOMES] == [
        "note", "propose-resolve", "propose-resolve", "escalate"]


def test_refusals_say_why_in_chinese() -> None:
    state = TaskState("open", T0 + timedelta(hours=4))
    with pytest.raises(TaskRefused, match="未知的办结结果") as unknown:
        tasks.complete(state, "g1", "perhaps", T0)
    assert unknown.value.reason == "outcome"
    finished = tasks.complete(state, "g1", "不属实", T0)
    with pytest.raises(TaskRefused, match="不能重复办结"):
        tasks.complete(finished, "g1", "属实", T0)
    taken = tasks.accept(state, "g1", T0)
    assert tasks.accept(taken, "g1", T0) == taken
    with pytest.raises(TaskRefused, match="已由 g1 接单"):
        tasks.accept(taken, "g2", T0)
    gone = tasks.withdraw(taken)
    for act in (lambda: tasks.accept(gone, "g1", T0), lambda: tasks.complete(gone, "g1", "属实", T0)):
        with pytest.raises(TaskRefused, match="任务已撤销（所属预警已办结）"):
            act()
    with pytest.raises(TaskRefused, match="只有未办结的任务可以撤销"):
        tasks.withdraw(finished)


ACTIONS = st.lists(st.tuples(st.sampled_from(["accept", "done", "sweep", "withdraw"]), st.sampled_from(["g1", "g2"]),
                             st.sampled_from(["属实", "不属实", "escalate", "bogus"]),
                             st.integers(min_value=0, max_value=600)), max_size=12)


@given(ACTIONS)
def test_state_machine_never_two_done_and_overdue_only_past_due(steps: list[tuple[str, str, str, int]]) -> None:
    due = T0 + timedelta(minutes=240)
    state = TaskState("open", due)
    done_count = 0
    for action, who, outcome, minute in steps:
        now = T0 + timedelta(minutes=minute)
        before = state
        try:
            if action == "accept":
                state = tasks.accept(state, who, now)
            elif action == "done":
                state = tasks.complete(state, who, outcome, now)
                done_count += 1
            elif action == "withdraw":
                state = tasks.withdraw(state)
                assert before.status in tasks.UNFINISHED
            else:
                state = tasks.mark_overdue(state, now)
                assert before.status in ("open", "accepted") and now > due
        except TaskRefused:
            assert state == before  # a refusal changes nothing
        assert state.status in tasks.STATUSES
        assert done_count <= 1
        if before.status in ("done", "withdrawn"):
            assert state == before  # done and withdrawn are final
        if state.status == "overdue" and before.status != "overdue":
            assert action == "sweep" and now > due
        assert (state.status == "done") == (state.outcome is not None)
