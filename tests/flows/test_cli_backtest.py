"""`fenghuo backtest --since DATE --workers N`: the sharded backtest prints what the unsharded one prints."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.cli import app
from integrations.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _synthetic_stream(seed: int, n: int) -> list[Any]:
    """The seeded multi-district stream of the sharding tests (tests/rules/shard_samples.py)."""
    spec = importlib.util.spec_from_file_location("shard_samples", ROOT / "tests" / "rules" / "shard_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.synthetic_stream(seed, n=n, days=4.0))


@pytest.fixture
def stored(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store on each backend holding a 4-day stream, configured as the CLI's store."""
    from integrations.store.db import open_store, session_scope
    from integrations.store.records import upsert_records

    eng = open_store(store_url)
    with session_scope(eng) as s:
        upsert_records(session=s, records=_synthetic_stream(11, 2500))
    eng.dispose()
    monkeypatch.setenv("FENGHUO_DATABASE_URL", store_url)
    get_settings.cache_clear()
    return store_url


@pytest.mark.parametrize("fmt", ["jsonl", "table"])
def test_sharded_prints_what_the_unsharded_backtest_prints(stored: str, fmt: str) -> None:
    # the stream starts 2026-03-01 (UTC+8); --until cuts its last day off
    span = ["--since", "2026-03-01", "--until", "2026-03-04", "--format", fmt]
    single = runner.invoke(app, ["backtest", *span])
    assert single.exit_code == 0, single.output
    sharded = runner.invoke(app, ["backtest", *span, "--workers", "2"])
    assert sharded.exit_code == 0, sharded.output
    assert sharded.stdout == single.stdout
    if fmt == "jsonl":
        assert len(single.stdout.splitlines()) > 10  # a real comparison: many warnings
    else:
        assert "warnings from" in single.stdout
    assert "layer 1: done" in sharded.stderr  # progress on stderr, never in the output


@pytest.mark.parametrize(("argv", "says"), [
    (["--since", "yesterday", "--workers", "2"], "is not a date"),
    (["--since", "2026-03-01", "--until", "soon", "--workers", "2"], "is not a date"),
    (["--since", "2026-03-01", "--workers", "0"], "--workers 0"),
    (["--since", "2031-01-01", "--workers", "2"], "no stored records"),
    (["--records", "x.jsonl", "--workers", "2"], "give --since"),
])
def test_errors_are_one_line(stored: str, argv: list[str], says: str) -> None:
    result = runner.invoke(app, ["backtest", *argv])
    _one_line_error(result, says)


def _one_line_error(result: Any, says: str) -> None:
    assert result.exit_code == 1
    text = result.output.replace("\n", "")  # rich wraps the one line at the test terminal's 80 columns
    assert says in text and "Traceback" not in text
    assert result.output.startswith("error:") and result.output.count("error:") == 1, result.output


def test_empty_store_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    get_settings.cache_clear()
    result = runner.invoke(app, ["backtest", "--since", "2026-01-01", "--workers", "2"])
    _one_line_error(result, "no stored records")
