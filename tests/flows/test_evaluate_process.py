"""`fenghuo evaluate --follow` as real processes, on SQLite and PostgreSQL, and `--once` beside them: one
evaluator holds the store's lease, `--once` gives way naming it (exit 3), a second `--follow` waits as a
standby and takes over within 10 s of the holder's kill -9, and records imported meanwhile are evaluated by
whoever holds it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from flows.cli import app
from integrations.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


class Proc:
    """A `fenghuo` child process whose stderr goes to a file we can read while it runs."""

    def __init__(self, tmp: Path, name: str, env: dict[str, str], *args: str) -> None:
        self.log = tmp / f"{name}.log"
        self.handle = self.log.open("w")
        self.popen = subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env=env,
                                      stdout=self.handle, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, needle: str, timeout: float) -> float:
        start = time.monotonic()
        while needle not in self.text():
            if self.popen.poll() is not None:
                raise AssertionError(f"exited {self.popen.returncode}: {self.text()}")
            if time.monotonic() - start > timeout:
                raise AssertionError(f"no {needle!r} within {timeout} s: {self.text()}")
            time.sleep(0.1)
        return time.monotonic() - start

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self.handle.close()


@pytest.fixture
def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    out = {**os.environ, "FENGHUO_HOME": str(tmp_path / "home"), "FENGHUO_DATABASE_URL": store_url}
    out.pop("FENGHUO_ENV", None)
    return out


@pytest.fixture
def spawn(tmp_path: Path, env: dict[str, str]) -> Iterator[Callable[..., Proc]]:
    started: list[Proc] = []

    def start(name: str, *args: str) -> Proc:
        started.append(Proc(tmp_path, name, env, *args))
        return started[-1]

    yield start
    for proc in started:
        proc.stop()


# Everything but the two evaluators runs in this process, through the same commands (imports of Prefect and
# the rule engine cost a child process seconds): the lease and the takeover are between the real processes.
runner = CliRunner()


def _cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def _import(tmp_path: Path, name: str, *petitions: tuple[str, str, int]) -> None:
    f = tmp_path / f"{name}.jsonl"
    f.write_text("".join(json.dumps({"kind": "petition", "id": rid, "at": at, "region": "510104001001",
                                     "people": people, "person": "p_00000000000000000001"}) + "\n"
                         for rid, at, people in petitions), encoding="utf-8")
    done = _cli("records", "import", str(f), "--source", "xinfang")
    assert done.exit_code == 0, done.output


def _warnings(count: int, timeout: float = 30) -> list[dict[str, object]]:
    """The stored warnings once their occurrences add up to ``count`` (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        listed = _cli("warnings", "list", "--json", "--limit", "100")
        assert listed.exit_code == 0, listed.output
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        if sum(int(str(r["occurrences"])) for r in rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_one_resident_evaluator_a_standby_that_takes_over_and_once_gives_way(
        tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch, spawn: Callable[..., Proc]) -> None:
    monkeypatch.setenv("FENGHUO_DATABASE_URL", store_url)  # the in-process commands use the evaluators' store
    monkeypatch.delenv("FENGHUO_ENV", raising=False)
    get_settings.cache_clear()
    first = spawn("first", "evaluate", "--follow")
    first.wait_for("持有租约", timeout=120)
    second = spawn("second", "evaluate", "--follow")
    # While the standby starts: --once gives way to the holder, and the holder evaluates what arrives.
    once = _cli("evaluate", "--once")
    assert once.exit_code == 3, once.output
    assert f"pid {first.popen.pid} " in once.stderr, once.output  # naming the holder, with no traceback
    _import(tmp_path, "a", ("p1", "2026-01-05T09:00:00+08:00", 60))
    rows = _warnings(1)
    assert [(r["rule"], r["level"]) for r in rows] == [("collective-petition", "orange")]
    second.wait_for("待命", timeout=120)
    assert f"pid {first.popen.pid} " in second.text()  # the standby names who it waits for

    first.popen.send_signal(signal.SIGKILL)
    first.popen.wait(10)
    took = second.wait_for("持有租约", timeout=10)
    assert took < 10
    _import(tmp_path, "b", ("p2", "2026-01-05T10:00:00+08:00", 7))
    rows = _warnings(2)
    assert [(r["rule"], r["occurrences"]) for r in rows] == [("collective-petition", 2)]

    second.stop()
    once = _cli("evaluate", "--once")  # nobody holds it now
    assert once.exit_code == 0, once.output
    assert "已评估 0 条记录" in once.stdout
