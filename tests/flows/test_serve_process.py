"""`fenghuo serve` as a service, with real processes and signals (each bounded in time): it refuses weak
production secrets and taken ports before starting anything, and what it starts never outlives it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
           ) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "FENGHUO_HOME": str(tmp_path / "home"),
                "FENGHUO_PUBLIC_BASE_URL": f"http://127.0.0.1:{_free_port()}", **(env or {})}
    full_env.pop("FENGHUO_ENV", None)
    return subprocess.run([sys.executable, "-m", "flows.cli", "serve", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def test_serve_is_production_by_default_and_refuses_development_secrets(tmp_path: Path) -> None:
    done = _serve(tmp_path, "--port", str(_free_port()))
    assert done.returncode == 1
    assert "生产环境拒绝启动：FENGHUO_PSEUDONYM_KEY 仍是开发默认值" in done.stderr
    assert "FENGHUO_SESSION_SECRET" in done.stderr and "openssl rand -hex 32" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "home" / "prefect" / "server.log").exists()  # nothing was started


@pytest.mark.parametrize("which", ["prefect", "web"])
def test_a_taken_port_stops_serve_with_a_message_and_non_zero_exit(tmp_path: Path, which: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        port, web = (taken, _free_port()) if which == "prefect" else (_free_port(), taken)
        done = _serve(tmp_path, "--dev", "--port", str(port),
                      env={"FENGHUO_PUBLIC_BASE_URL": f"http://127.0.0.1:{web}"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"端口 127.0.0.1:{taken} 已被占用" in done.stderr
    assert ("--port" if which == "prefect" else "FENGHUO_PUBLIC_BASE_URL") in done.stderr
    assert not (tmp_path / "home" / "prefect" / "server.log").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too (nobody reaped it yet): read its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


PARENT = """
import subprocess, sys, time
{setup}
child = {popen}(["sleep", "300"])
print(child.pid, flush=True)
time.sleep(300)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("how", ["die_with_parent", "temporary_server", "plain"])
def test_children_die_with_a_parent_killed_with_sigkill(how: str) -> None:
    """What serve (our server) and the demo (Prefect's temporary server) start dies with them, kill -9
    included; ``plain`` shows that without it the child would run on (the test can fail)."""
    setup, popen = {
        "die_with_parent": ("from integrations.prefect_server import die_with_parent",
                            "(lambda cmd: subprocess.Popen(cmd, preexec_fn=die_with_parent()))"),
        # The module Prefect starts its temporary server from, after the guard: its Popen is what runs.
        # Importing the flows guards the module Prefect starts its temporary server from (imported later,
        # lazily, as Prefect does): its Popen is what runs here.
        "temporary_server": ("import flows.escalate\nimport prefect.server.api.server as m",
                             "m.subprocess.Popen"),
        "plain": ("", "subprocess.Popen"),
    }[how]
    with subprocess.Popen([sys.executable, "-c", textwrap.dedent(PARENT).format(setup=setup, popen=popen)],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        try:
            assert _alive(child)
            parent.kill()
            parent.wait(timeout=10)
            # A guarded child goes at once (5 s allow for a loaded machine); the unguarded one is still
            # there a second later, when every guarded one would have gone.
            assert _wait_gone(child, 1 if how == "plain" else 5) is (how != "plain")
        finally:
            if _alive(child):
                os.kill(child, signal.SIGKILL)


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live children of ``pid``."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                out.append((int(stat.parent.name), cmd))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return out


def test_every_stopping_step_waits_only_what_is_left_before_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ten seconds are one budget: a slow step shortens the ones after it instead of adding to them."""
    from flows import serve

    now = [100.0]
    monkeypatch.setattr(serve.time, "monotonic", lambda: now[0])
    stopper = serve._Stopper(lambda _: None)
    assert stopper.left(keep=3.0, at_most=6.0) == 6.0  # no signal yet: the step's own limit
    stopper.deadline = now[0] + serve.STOP_WITHIN_S
    assert stopper.left(keep=3.0, at_most=6.0) == 6.0
    now[0] += 5.0  # the runner took five seconds to stop
    assert stopper.left(keep=1.0, at_most=3.0) == 3.0
    now[0] += 3.5  # and the web endpoint most of the rest
    assert stopper.left(keep=1.0, at_most=3.0) == pytest.approx(0.5)
    now[0] += 5.0  # past the deadline: a token wait, never a negative one
    assert stopper.left(keep=0.3, at_most=3.0) == 0.2


def test_a_hung_stop_is_cut_short_before_the_budget_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step that hangs (a runner that never returns, a server that ignores SIGTERM) cannot break the
    promise: shortly before the ten seconds, what serve started is killed and the process leaves with 0."""
    from flows import serve

    assert serve._PLANNED_S < serve._OVERDUE_S < serve.STOP_WITHIN_S
    monkeypatch.setattr(serve, "_OVERDUE_S", 0.2)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        monkeypatch.setattr(serve, "_children", lambda: [child.pid])
        exits: list[int] = []
        monkeypatch.setattr(serve.os, "_exit", exits.append)
        hooks: list[str] = []
        said: list[str] = []
        stopper = serve._Stopper(said.append)
        stopper.force_hooks.append(lambda: hooks.append("server killed"))
        stopper.runner = object()  # serving: the first signal asks, it does not unwind
        stopper._handle(signal.SIGTERM, None)
        assert child.wait(timeout=5) == -signal.SIGKILL
        deadline = time.monotonic() + 5
        while not exits and time.monotonic() < deadline:
            time.sleep(0.05)
        assert exits == [0] and hooks == ["server killed"]
        assert any("强制结束" in line for line in said), said
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.integration
@pytest.mark.slow
def test_serve_evaluates_and_delivers_as_records_arrive_and_a_second_ctrl_c_forces(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """serve's resident evaluator holds the lease and delivers beside it: a record imported while serve runs
    reaches the webhook receiver with no pipeline or escalation run (their schedules are an hour away). Then a
    second Ctrl-C forces at once (exit 130), within the budget, and the Prefect server serve started is gone.
    (The first signal's orderly stop, serving, then the evaluator, then the server, is test_deployments'
    real-server test's: a serve costs 20–40 s to start, so each way of stopping gets one serve.)"""
    import json
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from flows.cli import app
    from flows.serve import STOP_WITHIN_S
    from tests.webhook_helpers import WebhookReceiver, webhook_directory

    receiver = WebhookReceiver()
    log_path = tmp_path / "serve.log"
    env = {**os.environ, "FENGHUO_HOME": str(tmp_path / "home"),
           "FENGHUO_PUBLIC_BASE_URL": f"http://127.0.0.1:{_free_port()}",
           "FENGHUO_RESPONDERS": str(webhook_directory(tmp_path / "responders.yaml", receiver.url))}
    env.pop("FENGHUO_ENV", None)
    monkeypatch.delenv("FENGHUO_ENV", raising=False)  # this process imports into serve's store (its FENGHUO_HOME)
    records = tmp_path / "petition.jsonl"
    records.write_text(json.dumps({"kind": "petition", "id": "p1", "at": datetime.now(UTC).isoformat(),
                                   "region": "510104001001", "people": 60, "person": "p_00000000000000000001"})
                       + "\n", encoding="utf-8")
    try:
        with log_path.open("wb") as log, subprocess.Popen(
                [sys.executable, "-m", "flows.cli", "serve", "--dev", "--port", str(_free_port()),
                 "--ingest-every", "3600", "--watch-every", "3600"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True) as serve:
            try:
                deadline = time.monotonic() + 300  # a busy machine starts a Prefect server slowly
                while not all(s in log_path.read_text(errors="replace")
                              for s in ("按 Ctrl-C", "持有租约", "在评估旁投递发件箱")):
                    assert serve.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")
                    time.sleep(0.2)
                (server,) = [pid for pid, cmd in _children(serve.pid) if "prefect server start" in cmd]
                imported = CliRunner().invoke(app, ["records", "import", str(records), "--source", "xinfang"])
                assert imported.exit_code == 0, imported.output
                got = receiver.wait_for(1, timeout=60)
                assert got and {r.body["level"] for r in got} == {"orange"}, log_path.read_text(errors="replace")
                started = time.monotonic()
                serve.send_signal(signal.SIGINT)
                time.sleep(0.5)
                serve.send_signal(signal.SIGINT)
                code = serve.wait(timeout=30)
                took = time.monotonic() - started
            finally:
                if serve.poll() is None:
                    os.killpg(serve.pid, signal.SIGKILL)
    finally:
        receiver.close()
    output = log_path.read_text(errors="replace")
    assert took < STOP_WITHIN_S, (took, output[-2000:])
    assert _wait_gone(server, 5), "the Prefect server outlived serve"
    assert code == 130 and "强制退出" in output, output[-2000:]
