"""`fenghuo backtest --since DATE --workers N`: the sharded backtest prints what the unsharded one prints."""

from __future__ import annotations

import importlib.util
import json
import subprocess  # nosec B404  # our own command, arguments built here
import sys
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


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store on each backend holding a 4-day stream, filled once for the module: a backtest only reads it,
    and a migrated store of 2,500 records costs a second or more on PostgreSQL."""
    from integrations.store.db import open_store, session_scope
    from integrations.store.records import upsert_records

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('backtest-store')}/fenghuo.db"
    else:
        url = request.getfixturevalue("pg_schemas")()
    eng = open_store(url)
    with session_scope(eng) as s:
        upsert_records(session=s, records=_synthetic_stream(11, 2500))
    eng.dispose()
    return url


@pytest.fixture
def stored(filled: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """:func:`filled`, configured as the CLI's store."""
    monkeypatch.setenv("FENGHUO_DATABASE_URL", filled)
    get_settings.cache_clear()
    return filled


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
        assert "条记录产生" in single.stdout
    assert "第 1 层：用时" in sharded.stderr  # progress on stderr, never in the output


def test_a_backtest_of_the_store_reads_it_a_day_at_a_time(stored: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A city's year of records would not fit in memory: the unsharded backtest streams them a day at a time
    (the output is held equal to the sharded one's above)."""
    from datetime import timedelta

    import integrations.records_io as records_io
    from integrations.store.records import records_between

    spans: list[timedelta] = []

    def day_only(**kwargs: Any) -> Any:
        spans.append(kwargs["until"] - kwargs["since"])
        return records_between(**kwargs)

    monkeypatch.setattr(records_io, "records_between", day_only)
    result = runner.invoke(app, ["backtest", "--since", "2026-03-01", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert len(spans) >= 4 and max(spans) <= timedelta(days=1)


@pytest.mark.parametrize(("argv", "says"), [
    (["--since", "yesterday", "--workers", "2"], "不是日期"),
    (["--since", "2026-03-01", "--until", "soon", "--workers", "2"], "不是日期"),
    (["--since", "2026-03-01", "--workers", "0"], "--workers 0"),
    (["--since", "2031-01-01", "--workers", "2"], "存储中没有"),
    (["--records", "x.jsonl", "--workers", "2"], "只用于回测存储中的记录"),
])
def test_errors_are_one_line(stored: str, argv: list[str], says: str) -> None:
    result = runner.invoke(app, ["backtest", *argv])
    _one_line_error(result, says)


def _one_line_error(result: Any, says: str) -> None:
    assert result.exit_code == 1
    text = result.output.replace("\n", "")  # rich wraps the one line at the test terminal's 80 columns
    assert says in text and "Traceback" not in text
    assert result.output.startswith("错误：") and result.output.count("错误：") == 1, result.output


def test_empty_store_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    get_settings.cache_clear()
    result = runner.invoke(app, ["backtest", "--since", "2026-01-01", "--workers", "2"])
    _one_line_error(result, "存储中没有")


# -- language 1.1: --compare, load failures, readable input errors and output --------------------------------

RULES = """\
ruleset: sample
rules:
  - id: big-petition
    title: 大规模信访
    record: petition
    where: {people: {gte: 5}}
    levels:
      - {level: yellow}
      - {level: orange, when: {people: {gte: THRESHOLD}}}
    group_by: [street]
"""
EXTRA = """\
ruleset: extra
rules:
  - id: any-petition
    title: 任一信访
    record: petition
    level: blue
"""
ROWS = [
    '{"kind": "petition", "at": "2026-01-05T10:00:00+08:00", "region": "510104001002", "people": 60}',
    '{"kind": "petition", "at": "2026-01-05T09:00:00+08:00", "region": "510104001001", "people": 5}',
    '{"kind": "petition", "at": "2026-01-05T09:30:00+08:00", "region": "510105001001", "people": 7}',
]


@pytest.fixture
def books(tmp_path: Path) -> tuple[Path, Path, Path]:
    """NEW (orange from 50), OLD (orange from 100, plus a rule NEW dropped) and the records."""
    new, old = tmp_path / "new", tmp_path / "old"
    new.mkdir()
    old.mkdir()
    (new / "p.yaml").write_text(RULES.replace("THRESHOLD", "50"), encoding="utf-8")
    (old / "p.yaml").write_text(RULES.replace("THRESHOLD", "100"), encoding="utf-8")
    (old / "extra.yaml").write_text(EXTRA, encoding="utf-8")
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    return new, old, records


def test_compare_prints_one_object_per_differing_warning(books: tuple[Path, Path, Path]) -> None:
    new, old, records = books
    result = runner.invoke(app, ["backtest", "--rules", str(new), "--compare", str(old), "--records", str(records),
                                 "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    changed = [d for d in out if d["change"] == "changed"]
    removed = [d for d in out if d["change"] == "removed"]
    assert len(out) == 4 and len(changed) == 1 and len(removed) == 3  # any-petition fired on all three
    assert changed[0] == {"change": "changed", "rule": "big-petition", "fingerprint": changed[0]["fingerprint"],
                          "region": "510104001000", "level": "orange", "old_level": "yellow",
                          "occurrences": 2, "old_occurrences": 2}
    assert all(set(d) == {"change", "rule", "fingerprint", "region", "old_level", "old_occurrences"}
               for d in removed)
    # the other way round, what was removed is added
    back = runner.invoke(app, ["backtest", "--rules", str(old), "--compare", str(new), "--records", str(records),
                               "--format", "jsonl"])
    added = [json.loads(line) for line in back.stdout.splitlines() if '"added"' in line]
    assert back.exit_code == 0 and len(added) == 3
    assert all(set(d) == {"change", "rule", "fingerprint", "region", "level", "occurrences"} for d in added)


def test_compare_with_no_difference_prints_nothing_and_exits_0(books: tuple[Path, Path, Path]) -> None:
    new, _, records = books
    result = runner.invoke(app, ["backtest", "--rules", str(new), "--compare", str(new), "--records", str(records),
                                 "--format", "jsonl"])
    assert (result.exit_code, result.stdout) == (0, "")


def test_compare_summary_by_rule_names(books: tuple[Path, Path, Path]) -> None:
    new, old, records = books
    result = runner.invoke(app, ["backtest", "--rules", str(new), "--compare", str(old), "--records", str(records)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "大规模信访" in text and "任一信访" in text  # rule names, not only ids
    assert "江果桥街道" in text  # region names from the region directory
    assert "变化" in text and "消失" in text


def test_compare_lists_at_most_limit_differences_those_that_matter_most_first(
        books: tuple[Path, Path, Path]) -> None:
    """Four differences (three warnings gone, one level raised): with --limit 3 the three gone are listed, the
    summary still counts all four, and a line says how to see the rest; --format jsonl gives all of them."""
    new, old, records = books
    argv = ["backtest", "--rules", str(new), "--compare", str(old), "--records", str(records)]
    result = runner.invoke(app, [*argv, "--limit", "3"])
    assert result.exit_code == 0, result.output
    listed = [line for line in result.stdout.splitlines() if " → " in line]
    assert len(listed) == 3 and all(line.lstrip().startswith("消失") for line in listed), result.stdout
    assert "逐条差异（最重要的 3 条）" in result.stdout and "另有 1 条未列出" in result.stdout
    everything = runner.invoke(app, [*argv, "--limit", "0"]).stdout
    assert sum(" → " in line for line in everything.splitlines()) == 4 and "另有" not in everything
    assert len(runner.invoke(app, [*argv, "--limit", "1", "--format", "jsonl"]).stdout.splitlines()) == 4


def test_compare_since_reads_the_stored_records(stored: str, tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(EXTRA.replace("level: blue", "level: yellow").replace("record: petition", "record: hotline"),
                   encoding="utf-8")
    span = ["--since", "2026-03-01", "--until", "2026-03-02", "--format", "jsonl"]
    result = runner.invoke(app, ["backtest", "--compare", str(old), *span])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    plain_new = runner.invoke(app, ["backtest", *span])
    plain_old = runner.invoke(app, ["backtest", "--rules", str(old), *span])
    new_fps = {json.loads(x)["fingerprint"] for x in plain_new.stdout.splitlines()}
    old_fps = {json.loads(x)["fingerprint"] for x in plain_old.stdout.splitlines()}
    assert new_fps and old_fps  # a real comparison
    assert {d["fingerprint"] for d in out if d["change"] == "added"} == new_fps - old_fps
    assert {d["fingerprint"] for d in out if d["change"] == "removed"} == old_fps - new_fps


def test_a_rule_file_that_fails_to_load_prints_file_line_and_exits_1(books: tuple[Path, Path, Path]) -> None:
    new, old, records = books
    (new / "p.yaml").write_text(RULES.replace("THRESHOLD", "50").replace("people: {gte: 5}", "peeple: {gte: 5}"),
                                encoding="utf-8")
    for argv in (["--rules", str(new)], ["--rules", str(old), "--compare", str(new)]):
        result = runner.invoke(app, ["backtest", *argv, "--records", str(records), "--format", "jsonl"])
        assert result.exit_code == 1 and result.stdout == ""
        assert f"{new / 'p.yaml'}:6: petition 记录没有字段 'peeple'" in result.stderr
        assert "Traceback" not in result.output


@pytest.mark.parametrize(("line", "says"), [
    ("{not json", "不是合法的 JSON"),
    ("[1, 2]", "JSON 对象"),
    ('{"kind": "petition", "at": "2026-01-05T09:00:00+08:00", "region": "5101"}', "region"),
    ('{"kind": "petition", "at": "2026-01-05T09:00:00", "region": "510104001001"}', "时区"),
    ('{"kind": "petition", "at": "yesterday", "region": "510104001001"}', "ISO-8601"),
    ('{"at": "2026-01-05T09:00:00+08:00", "region": "510104001001"}', "kind"),
    ('{"kind": "petition", "at": "2026-01-05T09:00:00+08:00", "region": "510104001001", "people": "many"}',
     "people"),
])
def test_a_bad_record_line_is_one_chinese_line_with_file_and_line(tmp_path: Path, line: str, says: str) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(ROWS[0] + "\n\n" + line + "\n", encoding="utf-8")
    result = runner.invoke(app, ["backtest", "--records", str(records), "--format", "jsonl"])
    _one_line_error(result, says)
    assert result.output.startswith(f"错误：{records}:3: ")
    assert "pydantic" not in result.output and "errors.pydantic.dev" not in result.output


def test_a_bad_line_says_in_chinese_what_is_wrong_with_its_json(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(ROWS[0] + "\n" + ROWS[1].replace('"people": 5', '"people" 5') + "\n", encoding="utf-8")
    result = runner.invoke(app, ["backtest", "--records", str(records), "--format", "jsonl"])
    _one_line_error(result, f"{records}:2: 不是合法的 JSON（第 92 列）：键名之后缺少冒号")
    assert "Expecting" not in result.output


def test_a_file_saved_with_a_bom_reads_as_without(tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.jsonl", tmp_path / "marked.jsonl"
    plain.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())  # what some Windows editors write
    got = [runner.invoke(app, ["backtest", "--records", str(p), "--format", "jsonl"]) for p in (plain, marked)]
    assert got[0].exit_code == got[1].exit_code == 0 and got[0].stdout == got[1].stdout != ""


def test_text_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    gbk = ROWS[2].replace('"people": 7', '"people": 7, "subject": "征地"').encode("gbk")
    records.write_bytes(("\n".join(ROWS[:2]) + "\n").encode() + gbk + b"\n")
    result = runner.invoke(app, ["backtest", "--records", str(records)])
    _one_line_error(result, f"{records}:3: 不是 UTF-8 文本（该行第 ")
    assert "另存为 UTF-8" in result.output.replace("\n", "")


@pytest.mark.parametrize("make", ["folder", "missing", "binary"])
def test_an_unreadable_records_file_is_one_line(tmp_path: Path, make: str) -> None:
    path = tmp_path / "records.jsonl"
    if make == "folder":
        path.mkdir()
    elif make == "binary":
        path.write_bytes(b"\xff\xfe\x00\n")
    result = runner.invoke(app, ["backtest", "--records", str(path)])
    _one_line_error(result, str(path))


def test_the_table_shows_rule_names_region_names_and_beijing_time(books: tuple[Path, Path, Path],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.console import console

    new, _, records = books
    for width in (80, 200):  # two lines a warning on a narrow terminal, a table on a wide one
        monkeypatch.setattr(console, "_width", width)
        result = runner.invoke(app, ["backtest", "--rules", str(new), "--records", str(records)])
        assert result.exit_code == 0, result.output
        text = result.stdout
        assert "大规模信访" in text and "锦江区 江果桥街道" in text
        # the first firing was at 09:00 in Beijing (01:00 UTC), shown with its zone
        assert "2026-01-05 09:00+08:00" in text and "01:00" not in text


def test_a_narrow_terminal_shows_why_a_warning_fired_and_every_width_in_the_language_in_force(
        books: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two lines a warning: the first names the rule, so the second starts with what made it fire (its
    explanation, on a phone-width terminal, was cut before that); the table's note and English translate."""
    from flows.console import console
    from integrations.settings import get_settings

    new, _, records = books
    monkeypatch.setattr(console, "_width", 80)
    narrow = runner.invoke(app, ["backtest", "--rules", str(new), "--records", str(records)]).stdout
    assert "+08:00  people=7 ≥ 5" in narrow and "规则 big-petition（" not in narrow
    monkeypatch.setattr(console, "_width", 200)
    assert "规则 big-petition（大规模信访）：people=7 ≥ 5" in runner.invoke(
        app, ["backtest", "--rules", str(new), "--records", str(records)]).stdout
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    english = runner.invoke(app, ["backtest", "--rules", str(new), "--records", str(records)]).stdout
    assert "rule big-petition（大规模信访）: people=7 ≥ 5" in english and "规则 big-petition" not in english
    get_settings.cache_clear()


def test_more_warnings_than_the_limit_are_summed_up_by_rule_then_listed_in_part(
        books: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.console import console

    new, _, records = books  # two warnings of big-petition, one a street
    for width in (80, 200):
        monkeypatch.setattr(console, "_width", width)
        result = runner.invoke(app, ["backtest", "--rules", str(new), "--records", str(records), "--limit", "1"])
        assert result.exit_code == 0, result.output
        text = result.stdout
        assert "按规则汇总" in text and "大规模信访" in text and "3 条记录产生 2 条预警" in text
        assert "另有 1 条未列出" in text and "--format jsonl" in text
        # the summary spans both warnings (first 09:00, latest 10:00 Beijing); one warning is listed
        assert "2026-01-05 09:00+08:00" in text and "2026-01-05 10:00+08:00" in text
        assert "江果桥街道" in text and "新红坝街道" not in text  # the older warning only
        everything = runner.invoke(app, ["backtest", "--rules", str(new), "--records", str(records), "--limit", "0"])
        assert everything.exit_code == 0 and "新红坝街道" in everything.stdout
        assert "按规则汇总" not in everything.stdout and "另有" not in everything.stdout


def test_a_negative_limit_is_one_line(books: tuple[Path, Path, Path]) -> None:
    new, _, records = books
    result = runner.invoke(app, ["backtest", "--rules", str(new), "--records", str(records), "--limit", "-1"])
    _one_line_error(result, "--limit -1")


_BACKTEST_MODULES = """
import sys
from flows.cli import app
try:
    app(["backtest", "--rules", sys.argv[1], "--records", sys.argv[2]])
except SystemExit as done:
    assert not done.code, done.code
print(" ".join(sorted(sys.modules)))
"""


def test_a_backtest_from_the_command_line_loads_no_web_layer_and_no_orchestration(tmp_path: Path) -> None:
    """A rule author's loop is many short backtests: the web workspace (FastAPI, its pages), the store (SQLModel)
    and Prefect cost seconds to import and a backtest serves none of them. Its table's level names come from
    the workspace's value tables, which must be reachable without the workspace's pages or the store."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("ruleset: t\nrules:\n  - id: r1\n    title: 伤人事件\n    record: incident\n"
                     "    where: {injured: {gte: 3}}\n    level: yellow\n    summary: \"伤 {injured} 人\"\n",
                     encoding="utf-8")
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps({"kind": "incident", "id": "i1", "at": "2026-01-01T08:00:00+08:00",
                                   "region": "510104001001", "injured": 4}) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _BACKTEST_MODULES, str(rules), str(records)],  # nosec B603
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.splitlines()[-1].split())
    assert "伤人事件" in done.stdout.splitlines()[1]  # the table was printed, the level by its name
    heavy = sorted(m for m in loaded if m.split(".")[0] in ("fastapi", "starlette", "prefect", "uvicorn", "sqlalchemy",
                                                           "sqlmodel")
                   or m.startswith(("integrations.store", "integrations.workspace.present")))
    assert heavy == []
