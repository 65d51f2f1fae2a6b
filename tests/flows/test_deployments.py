"""Deployments: prefect.yaml and `fenghuo serve` agree, and a real local Prefect server runs a schedule."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import yaml

from flows.deployments import deployment_specs, load_flow

ROOT = Path(__file__).resolve().parents[2]


def test_prefect_yaml_declares_what_serve_serves() -> None:
    declared = {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    specs = {s.name: s for s in deployment_specs()}
    assert declared.keys() == specs.keys()
    for name, spec in specs.items():
        d = declared[name]
        module, fn = spec.flow.split(":")
        assert d["entrypoint"] == f"{module.replace('.', '/')}.py:{fn}"
        assert d.get("parameters", {}) == spec.parameters
        if spec.interval_s is None and spec.cron is None:  # on demand
            assert not d.get("schedules"), name
            continue
        (schedule,) = d["schedules"]
        assert schedule["timezone"] == "Asia/Shanghai"
        assert schedule.get("interval") == spec.interval_s and schedule.get("cron") == spec.cron
        anchor = schedule.get("anchor_date")
        assert (datetime.fromisoformat(anchor) if anchor else None) == spec.anchor, name


def test_descriptions_are_chinese_and_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    declared = {d["name"]: d["description"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    chinese = {s.name: s.description for s in deployment_specs()}
    assert chinese == declared  # prefect.yaml says what serve says, in the default language
    assert chinese["pipeline-xinfang"] == "接入 xinfang，随即评估规则并升级。"
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    english = {s.name: s.description for s in deployment_specs()}
    assert english["pipeline-xinfang"] == "Ingest xinfang, then evaluate the rules and escalate, right after."
    assert not any("\u4e00" <= c <= "\u9fff" for text in english.values() for c in text), english


def test_every_entrypoint_is_a_flow() -> None:
    from prefect import Flow

    for spec in deployment_specs():
        assert isinstance(load_flow(spec.flow), Flow), spec.flow


def test_sharded_backtest_is_on_demand_with_the_flows_parameters() -> None:
    import inspect

    spec = next(s for s in deployment_specs() if s.name == "backtest-sharded")
    assert spec.interval_s is None and spec.cron is None and spec.when == "on demand"
    params = inspect.signature(load_flow(spec.flow).fn).parameters
    assert spec.parameters.keys() <= params.keys() and {"since", "until", "address", "workers"} <= params.keys()


def test_pipelines_are_staggered_across_their_interval() -> None:
    """Not all seven sources pulled in the same second: distinct anchors spread over one interval."""
    pipelines = [s for s in deployment_specs(ingest_every_s=300) if s.name.startswith("pipeline-")]
    offsets = sorted(s.offset_s for s in pipelines)
    assert len(set(offsets)) == len(pipelines) == 7
    assert offsets[0] == 0 and offsets[-1] < 300 and min(b - a for a, b in itertools.pairwise(offsets)) >= 40
    # The schedules Prefect gets carry them: the next runs of two sources are 42 s apart.
    from flows.deployments import to_deployments

    first, second = to_deployments(pipelines[:2])
    (a,), (b,) = first.schedules, second.schedules
    assert (b.schedule.anchor_date - a.schedule.anchor_date).total_seconds() == 42


def test_schedules_are_in_shanghai_time() -> None:
    report = next(s for s in deployment_specs() if s.name == "daily-report")
    assert report.cron == "0 8 * * *"
    assert {s.interval_s for s in deployment_specs() if s.name.startswith("pipeline-")} == {300}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _group_alive(pgid: int, grace_s: float = 15.0) -> bool:
    """Whether any process of group ``pgid`` is still there after ``grace_s`` (exiting ones get time)."""
    deadline = time.monotonic() + grace_s
    while True:
        try:
            os.killpg(pgid, 0)  # signal 0: only asks whether any process of the group is left
        except ProcessLookupError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.5)


@pytest.mark.integration
@pytest.mark.slow
def test_serve_runs_a_scheduled_flow_on_a_real_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fenghuo serve --demo` starts its own Prefect server, the simulator and the resident evaluator; its
    scheduler fires the SLA watch; SIGTERM (what a service manager sends; Ctrl-C's SIGINT has the same handler)
    stops serving, then the evaluator (cleanly, not cut off by the exit), then the server, within 10 s. The
    second signal's forced exit, and the evaluator delivering as records arrive, are
    tests/flows/test_serve_process.py's (each serve costs 20–40 s: one for each way of stopping)."""
    port = _free_port()
    # A fast scheduler and runner poll, so the first scheduled run comes in seconds, not a minute.
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "2")
    monkeypatch.setenv("PREFECT_RUNNER_POLL_FREQUENCY", "2")
    # Each run is a process that imports Prefect and Fenghuo (seconds here): with runs every 10 s and no
    # limit they pile up and slow every later test; two at a time is plenty for one to complete.
    monkeypatch.setenv("PREFECT_RUNNER_PROCESS_LIMIT", "2")
    monkeypatch.setenv("FENGHUO_HOME", str(tmp_path / "home"))
    web = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("FENGHUO_PUBLIC_BASE_URL", web)
    simulator = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("FENGHUO_SIMULATOR_URL", simulator)
    log = (tmp_path / "serve.log").open("wb")
    child = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--demo", "--port", str(port), "--watch-every", "10",
         "--ingest-every", "3600"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)  # its own process group: a failed stop kills the server and runs with it
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 360  # a busy machine starts a Prefect server in minutes
        # Asked only once serve says it serves: before that the port may still be free, and another Prefect
        # server on this machine (another test's) could take it and answer for serve's.
        while "按 Ctrl-C" not in (tmp_path / "serve.log").read_text(errors="replace"):
            assert child.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        completed: list[dict[str, object]] = []
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline and not completed:
                time.sleep(0.5)
                try:
                    runs = client.post(f"{api}/flow_runs/filter", json={
                        "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}).json()
                except httpx.HTTPError:
                    continue  # a transient failure: ask again
                # a scheduled run: the deployment's. Another flow run may complete first, and stopping at it
                # failed this test once in CI.
                completed = [r for r in runs if isinstance(r, dict) and r.get("deployment_id")]
        assert completed, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
        # The responders' endpoint runs beside the flows: a forged link is refused, not ignored.
        assert httpx.get(f"{web}/a/forged-token", timeout=5).status_code == 403
        # The demo's pipelines have departmental systems to pull from.
        assert httpx.get(f"{simulator}/health", timeout=5).json() == {"ok": True}
    finally:
        child.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            child.wait(timeout=60)
            took = time.monotonic() - started
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)  # serve, its Prefect server and any flow-run processes
            raise
        finally:
            log.close()
        leftovers = _group_alive(child.pid)
        if leftovers:
            os.killpg(child.pid, signal.SIGKILL)  # never leave them running into the rest of the suite
    assert not leftovers, "fenghuo serve left processes behind after SIGTERM"
    assert took < 10 and child.returncode == 0, (took, child.returncode)
    output = (tmp_path / "serve.log").read_text(errors="replace")
    assert "持有租约" in output  # the resident evaluator ran beside the schedules
    assert output.index("调度已停止") < output.index("常驻评估已停止") < output.index("Prefect 服务器已停止")
