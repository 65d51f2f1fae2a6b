"""The flows' boundary: production refuses weak secrets at flow entry; failed scheduled runs are told to the
administrators once per failure streak, through our own channels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.ops_alerts import FailureStreaks, streak_step
from integrations.settings import InsecureSettingsError, get_settings


def test_a_streak_is_told_once_and_a_success_ends_it() -> None:
    failing: set[str] = set()
    outcomes = [False, False, False, True, True, False, False, True, False]
    told = [streak_step(failing, "pipeline", ok) for ok in outcomes]
    assert told == [True, False, False, False, False, True, False, False, True]
    # Streaks are per key: another deployment failing meanwhile is told on its own.
    assert streak_step(failing, "sla-watch", False) is True
    assert streak_step(failing, "pipeline", False) is False


@given(st.lists(st.booleans(), max_size=40))
def test_told_exactly_once_per_run_of_failures(outcomes: list[bool]) -> None:
    failing: set[str] = set()
    told = sum(streak_step(failing, "k", ok) for ok in outcomes)
    streaks = sum(1 for i, ok in enumerate(outcomes) if not ok and (i == 0 or outcomes[i - 1]))
    assert told == streaks


def test_streaks_persist_across_processes_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "ops" / "streaks.json"
    assert FailureStreaks(path).observe("a", ok=False) is True
    assert FailureStreaks(path).observe("a", ok=False) is False  # a new object: what another run sees
    assert json.loads(path.read_text()) == ["a"]
    path.write_text("{torn")  # a torn file starts afresh rather than silencing alerts for good
    assert FailureStreaks(path).observe("a", ok=False) is True


def _admin_messages() -> list[dict[str, str]]:
    outbox = get_settings().resolved_outbox_dir / "cd-duty-office.jsonl"
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]


@pytest.mark.usefixtures("prefect_harness")
def test_flow_entry_refuses_in_production_and_the_admins_hear_once_per_streak(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.escalate import escalate_warnings

    monkeypatch.setenv("FENGHUO_ENV", "production")
    monkeypatch.setenv("FENGHUO_LINK_SECRET", "too-short")
    get_settings.cache_clear()
    for _ in range(2):
        with pytest.raises(InsecureSettingsError, match="FENGHUO_LINK_SECRET 只有 9 字节"):
            escalate_warnings()
    (told,) = _admin_messages()
    assert told["subject"] == "【烽火运维】流程 escalate_warnings 运行失败"
    assert "生产环境拒绝启动" in told["body"] and "不再重复提醒" in told["body"]
    # Specialist units of the admin node (信访局…) are not told about Fenghuo's own failures.
    assert not (get_settings().resolved_outbox_dir / "cd-petition-office.jsonl").exists()

    monkeypatch.setenv("FENGHUO_ENV", "development")  # a successful run ends the streak …
    get_settings.cache_clear()
    escalate_warnings()
    monkeypatch.setenv("FENGHUO_ENV", "production")  # … so the next failure is told again
    get_settings.cache_clear()
    with pytest.raises(InsecureSettingsError):
        escalate_warnings()
    assert len(_admin_messages()) == 2


@pytest.mark.usefixtures("prefect_harness")
def test_a_failing_subflow_is_told_once_by_its_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.pipeline import run_pipeline

    monkeypatch.setenv("FENGHUO_SOURCES_FILE", "/nonexistent/sources.yaml")  # the ingest subflow fails
    get_settings.cache_clear()
    with pytest.raises(Exception):  # noqa: B017 - whatever the ingest raises, the parent fails with it
        run_pipeline(sources=["xinfang"])
    (told,) = _admin_messages()
    assert "run_pipeline" in told["subject"]


def test_the_scheduled_flows_carry_the_hooks_and_every_flow_checks_on_entry() -> None:
    import inspect

    from flows.deployments import deployment_specs, load_flow
    from flows.guard import on_run_completed, on_run_failed

    for spec in deployment_specs():
        flow = load_flow(spec.flow)
        assert on_run_failed in flow.on_failure_hooks and on_run_failed in flow.on_crashed_hooks, spec.name
        assert on_run_completed in flow.on_completion_hooks, spec.name
    from prefect import Flow

    for module in ("assess", "escalate", "evaluate", "ingest", "pipeline", "report", "sharded"):
        mod = __import__(f"flows.{module}", fromlist=["*"])
        for obj in vars(mod).values():
            if isinstance(obj, Flow) and obj.fn.__module__ == mod.__name__:
                assert "require_safe_settings()" in inspect.getsource(obj.fn), obj.name
