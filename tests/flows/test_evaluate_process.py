"""`fenghuo evaluate --follow` and `--once` as real processes, on SQLite and PostgreSQL: one evaluator holds
the store's lease, `--once` gives way naming it (exit 3), a second `--follow` waits as a standby and takes
over within 10 s of the holder's kill -9, and records imported meanwhile are evaluated by whoever holds it."""

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


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def _import(tmp_path: Path, env: dict[str, str], name: str, *petitions: tuple[str, str, int]) -> None:
    f = tmp_path / f"{name}.jsonl"
    f.write_text("".join(json.dumps({"kind": "petition", "id": rid, "at": at, "region": "510104001001",
                                     "people": people, "person": "p_00000000000000000001"}) + "\n"
                         for rid, at, people in petitions), encoding="utf-8")
    done = _cli(env, "records", "import", str(f), "--source", "xinfang")
    assert done.returncode == 0, done.stderr


def _warnings(env: dict[str, str], count: int, timeout: float = 30) -> list[dict[str, object]]:
    start = time.monotonic()
    while True:
        listed = _cli(env, "warnings", "list", "--json", "--limit", "100")
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        if sum(int(str(r["occurrences"])) for r in rows) >= count or time.monotonic() - start > timeout:
            return rows
        time.sleep(0.5)


def test_one_resident_evaluator_a_standby_that_takes_over_and_once_gives_way(
        tmp_path: Path, env: dict[str, str], spawn: Callable[..., Proc]) -> None:
    first = spawn("first", "evaluate", "--follow")
    first.wait_for("持有租约", timeout=120)
    second = spawn("second", "evaluate", "--follow")
    second.wait_for("待命", timeout=120)
    assert f"pid {first.popen.pid} " in second.text()  # the standby names who it waits for

    once = _cli(env, "evaluate", "--once")
    assert once.returncode == 3, once.stdout + once.stderr
    assert f"pid {first.popen.pid} " in once.stderr and "Traceback" not in once.stderr

    _import(tmp_path, env, "a", ("p1", "2026-01-05T09:00:00+08:00", 60))
    rows = _warnings(env, 1)
    assert [(r["rule"], r["level"]) for r in rows] == [("collective-petition", "orange")]

    first.popen.send_signal(signal.SIGKILL)
    first.popen.wait(10)
    took = second.wait_for("持有租约", timeout=10)
    assert took < 10
    _import(tmp_path, env, "b", ("p2", "2026-01-05T10:00:00+08:00", 7))
    rows = _warnings(env, 2)
    assert [(r["rule"], r["occurrences"]) for r in rows] == [("collective-petition", 2)]

    second.stop()
    once = _cli(env, "evaluate", "--once")  # nobody holds it now
    assert once.returncode == 0, once.stderr
    assert "已评估 0 条记录" in once.stdout
