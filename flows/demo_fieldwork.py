"""The demo's field work: grid workers report what they saw (事件上报) and a petition misses its deadline.

:func:`report_field_matters` is called once by ``fenghuo demo`` at the end of the simulated month, before
the last notifications are delivered. Two grid workers (the grid leads of 春兴湾社区 and 双江院社区 in
responders.yaml) report five matters through the same path as ``fenghuo grid report``; one is a gathering
of 35 people (the rule ``grid-gathering`` opens an orange warning), one is resent (stored once), one has
a negative head count (quarantined), one names a grid outside the reporter's community (refused and
audited). The petition office's records bring two petitions registered 20 days earlier: one was accepted
within 15 days, the other never moved (``petition-acceptance-overdue``, rules/catalog/deadlines.yaml).
Then the rules run once over what arrived, as the pipeline would.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from integrations.settings import get_settings

__all__ = ["report_field_matters"]

# (reporter's responder id, their community, matter, grid, people, text, hours before the end)
WAGES = "工地门口三十余名工人聚集讨要工资"
REPORTS = [
    ("jj-c001001-grid-lead", "510104001001", "gathering", "510104001001002", 35, WAGES, 3),
    ("jj-c001001-grid-lead", "510104001001", "gathering", "510104001001002", 35, WAGES, 3),  # resent
    ("jj-c001001-grid-lead", "510104001001", "care_need", "510104001001003", 1, "独居老人近日未出门，需上门查看", 5),
    ("wh-c002003-grid-lead", "510107002003", "dispute", "510107002003001", 2, "楼上楼下漏水纠纷，双方争执", 6),
    ("wh-c002003-grid-lead", "510107002003", "other", "510107002003002", -3, "人数填错的一条上报", 4),
    ("wh-c002003-grid-lead", "510107002003", "safety_hazard", "510104001001001", 0, "楼道堆放杂物（他人网格）", 2),
]
PETITION_REGION = "510104001002"  # 星果湖社区


def _petitions(end: datetime) -> list[dict[str, object]]:
    """Two petitions registered 20 days before ``end``: the first accepted on day 9, the second never told."""
    day0 = end - timedelta(days=20)

    def item(case: str, at: datetime, status: str) -> dict[str, object]:
        return {"kind": "petition", "id": case, "at": at.isoformat(), "region": PETITION_REGION, "people": 1,
                "subject": "小区停车位分配", "channel": "visit", "status": status}

    return [item("demo-deadline-1", day0 + timedelta(days=9), "accepted"),
            item("demo-deadline-2", day0, "registered")]


def report_field_matters(now: datetime) -> dict[str, int]:
    """Submit the demo's field reports and deadline cases at simulated time ``now``, evaluate once, and
    return counts for the summary: ``stored``, ``duplicate``, ``quarantined``, ``refused`` reports and
    ``warnings`` opened by the grid and deadline rules."""
    from sqlmodel import Session, select

    from domain.regions import RegionDirectory
    from flows.live import evaluate_once
    from flows.store import store_engine
    from integrations.grid_reports import FieldReport, ReportRefused, submit_report
    from integrations.ingest.run import load_kinds
    from integrations.records_io import import_items
    from integrations.sources.mapping import SourceConfig
    from integrations.store.models import WarningRow

    settings = get_settings()
    engine = store_engine()
    kinds = load_kinds(settings.rulebook)
    key = settings.pseudonym_key.get_secret_value()
    known = RegionDirectory.load(settings.regions).names if settings.reject_unknown_regions else None
    counts: Counter[str] = Counter()
    for who, node, matter, grid, people, text, hours in REPORTS:
        report = FieldReport(matter=matter, grid=grid, people=people, text=text, at=now - timedelta(hours=hours))
        try:
            outcome = submit_report(engine, report, reporter=who, actor=who, node=node, kinds=kinds, key=key,
                                    now=now, via="demo", known_regions=known)
        except ReportRefused:
            counts["refused"] += 1
            continue
        counts[outcome.status] += 1
    # The petition office's delivery, as its records arrive; its watermark is the simulator's to move.
    xinfang = SourceConfig(name="xinfang", kind="petition", path="", fields={})
    import_items(engine, xinfang, _petitions(now), kinds=kinds, key=key, now=now, note_watermark=False,
                 known_regions=known)
    evaluate_once(engine, now=now, who="demo-fieldwork", settings=settings)
    deadlines = ("petition-acceptance-overdue", "petition-conclusion-overdue", "petition-extension-overdue",
             "dispute-mediation-overdue")
    with Session(engine) as s:
        rows = s.exec(select(WarningRow.rule)).all()
    counts["warnings"] = sum(1 for r in rows if r.startswith("grid-") or r in deadlines)
    return {k: counts[k] for k in ("stored", "duplicate", "quarantined", "refused", "warnings")}
