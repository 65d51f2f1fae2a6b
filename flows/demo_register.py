"""The demo's register (台账): a civil-affairs export of a few hundred simulated people, imported with its row
report, the visits falling due over the demo's month, and grid workers' visits to most of them.

:func:`run_register_demo` is called once by ``flows/demo.py`` before the pipeline rounds: the
``care-visit-missed`` rule then warns, as the rounds evaluate, for the visits not made within 72 hours.
No Prefect here; it takes about a second.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from integrations.i18n import _
from integrations.settings import get_settings

SOURCE_FILE = "民政局-关爱对象台账.csv"
VISITS_SOURCE = "grid-visits"
"""Name of the simulated grid workers' visit records (走访记录) as a source."""
_CATEGORY_WEIGHTS = {"社区矫正对象": 2, "刑满释放安置帮教": 2, "严重精神障碍患者": 2, "留守老人": 4, "留守儿童": 3,
                     "独居老人": 5, "社区戒毒康复人员": 1}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(rng: random.Random, region: str) -> str:
    """A made-up 18-digit ID number with a valid check digit (GB 11643)."""
    born = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 80))
    body = f"{region[:6]}{born:%Y%m%d}{rng.randrange(1000):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]
    return body + check


def write_export(folder: Path, *, people: int, start: datetime, rng: random.Random,
                 grids: list[str]) -> tuple[Path, int]:
    """The department's export in GBK (as its software writes it), with a few bad rows; returns the path
    and how many bad rows it holds."""
    header = "证件号码,人员类别,所属网格,纳入日期,截止日期,备注"
    rows: list[str] = []
    titles, weights = list(_CATEGORY_WEIGHTS), list(_CATEGORY_WEIGHTS.values())
    day0 = start.date()
    for _person in range(people):
        grid = rng.choice(grids)
        begin = day0 - timedelta(days=rng.randrange(-10, 90))
        end = begin + timedelta(days=rng.randrange(20, 200)) if rng.random() < 0.2 else None
        rows.append(f"{_id_number(rng, grid)},{rng.choices(titles, weights)[0]},{grid},{begin:%Y/%m/%d},"
                    f"{end or ''},")
    first = rows[0].split(",")
    bad = [f"{_id_number(rng, grids[0])},低保户,{grids[0]},{day0},,类别不在本市台账政策中",
           ",".join([*first[:5], "重复录入"]),
           f"{_id_number(rng, grids[1])},独居老人,{grids[1]},2026-02-30,,日期有误",
           f"{_id_number(rng, grids[2])},留守儿童,510104099099001,{day0},,网格代码有误",
           f",留守老人,{grids[3]},{day0},,证件号码漏填",
           f"{_id_number(rng, grids[4])},社区矫正对象,{grids[4]},{day0},{day0 - timedelta(days=3)},结束早于开始"]
    for i, line in enumerate(bad):
        rows.insert(10 + i * 37, line)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SOURCE_FILE
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("gbk"))
    return path, len(bad)


def run_register_demo(*, start: datetime, until: datetime, people: int = 300, seed: int = 20260105,
                      folder: Path | None = None) -> dict[str, Any]:
    """Import a simulated register, emit the visits due in ``[start, until)`` (the register source, whose
    cursor the pipeline rounds then continue), and ingest grid workers' visits to most of them: some on
    time, some late, some never. Returns counts for the demo's summary."""
    from sqlmodel import Session

    from domain.privacy import pseudonymiser
    from domain.registers import CareCategories
    from flows.store import store_engine
    from integrations.ingest.run import ingest_source, load_kinds
    from integrations.register_import import import_register, known_grids
    from integrations.sources.factory import configured_sources
    from integrations.sources.register import RegisterSource, due_items

    settings = get_settings()
    rng = random.Random(seed)
    engine = store_engine()
    key = settings.pseudonym_key.get_secret_value()
    categories = CareCategories.load(settings.care_categories)
    names = known_grids(settings.regions)
    grids = sorted(names)
    path, bad = write_export(folder or settings.home / "register", people=people, start=start, rng=rng, grids=grids)
    report = import_register(engine, path, categories=categories, grids=names,
                             pseudonym=pseudonymiser(key), actor="demo:民政局", now=start)
    kinds = load_kinds(settings.rulebook)
    spec = configured_sources(settings).get("register")
    due = ingest_source(engine, RegisterSource(spec.config, engine, categories, now=until, first_run=until - start),
                        kinds=kinds, key=key, now=until, prefetch=False)
    with Session(engine) as session:
        items = [i for i in due_items(session, categories, start, until) if isinstance(i, dict)]
    visits, outcomes = _visits(items, rng, until)
    ingest_source(engine, _visit_source(visits), kinds=kinds, key=key, now=until, prefetch=False)
    return {"file": path.name, "encoding": report.encoding, "read": report.read, "kept": report.kept,
            "refused": len(report.problems), "refused_by_reason": report.by_reason(), "bad_rows_written": bad,
            "people": len(report.added) + report.unchanged, "due": due.fetched, **outcomes}


def summary_line(counts: dict[str, Any]) -> str:
    """One line for the demo's summary: what the import kept and refused, and the visits by outcome."""
    from domain.register_rows import REASONS
    from flows.demo_noise import rule_title

    refused = _("，").join(f"{_(REASONS[r])} {n}" for r, n in counts["refused_by_reason"].items())
    return _("台账：从 {file} 导入 {people} 人（编码：{encoding}），拒绝 {refused} 行（{reasons}）；应走访 {due} 次："
             "按时 {on_time}，逾期 {late}，未走访 {missed}，仍在 72 小时内 {pending}"
             "（“{rule}”规则对逾期和未走访发出预警）").format(
        file=counts["file"], people=counts["people"], encoding=counts["encoding"], refused=counts["refused"],
        reasons=refused, due=counts["due"], on_time=counts["visited_on_time"], late=counts["visited_late"],
        missed=counts["not_visited"], pending=counts["not_yet_due_72h"], rule=rule_title("care-visit-missed"))


def _visits(items: list[dict[str, Any]], rng: random.Random, until: datetime) -> tuple[list[dict[str, Any]],
                                                                                       dict[str, int]]:
    """Grid workers' visits: most within 72 hours of falling due, some late, some never."""
    visits: list[dict[str, Any]] = []
    outcomes = {"visited_on_time": 0, "visited_late": 0, "not_visited": 0, "not_yet_due_72h": 0}
    for item in items:
        at = datetime.fromisoformat(item["due_at"])
        if at + timedelta(hours=72) > until:
            outcomes["not_yet_due_72h"] += 1  # still within its 72 hours when the demo's month ends
            continue
        roll = rng.random()
        if roll < 0.8:
            when, outcome = at + timedelta(hours=rng.uniform(1, 60)), "visited_on_time"
        elif roll < 0.9:
            when, outcome = at + timedelta(hours=rng.uniform(80, 120)), "visited_late"
        else:
            outcomes["not_visited"] += 1
            continue
        if when >= until:
            outcomes["not_visited"] += 1
            continue
        outcomes[outcome] += 1
        visits.append({"id": f"visit-{item['id']}", "occurred_at": when.astimezone(UTC).isoformat(),
                       "region_code": item["grid"], "person": item["person"], "program": item["program"],
                       "outcome": "已走访"})
    return visits, outcomes


def _visit_source(visits: list[dict[str, Any]]) -> Any:
    from integrations.sources.base import RawItem
    from integrations.sources.fake import FakeSource
    from integrations.sources.mapping import SourceConfig

    config = SourceConfig(name=VISITS_SOURCE, kind="care_visit", path="", required=("person",), personal_raw=(),
                          fields={"person": "person", "program": "program", "outcome": "outcome"})
    items: list[RawItem] = [*visits]
    return FakeSource(config, items)
