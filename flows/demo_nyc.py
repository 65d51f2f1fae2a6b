"""The demo's proof on data nobody here wrote: the real NYC 311 records in data/nyc311 (in the repository), read
through the NYC 311 source profile (a file drop), mapped into ``hotline`` records with their region
hierarchy (borough → district, community board → street, zip → community), and backtested with the
default rulebook. No store, no notifications: it shows what the rules say about real complaints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from integrations.i18n import _
from integrations.labels import label
from integrations.settings import PACKAGE_ROOT, get_settings

PROFILE = PACKAGE_ROOT / "integrations" / "data" / "sources-nyc311.yaml"


@dataclass
class NycResult:
    """What the NYC 311 backtest found."""

    records: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def backtest_nyc311() -> NycResult | None:
    """Map every NYC 311 sample and backtest it; None when the samples are missing from the checkout."""
    from domain.records import Record
    from integrations.sources.config import load_sources
    from integrations.sources.factory import build_source
    from integrations.sources.mapping import Rejection, map_item
    from integrations.sources.nyc311 import DATA_DIR
    from rules.language.loader import load_rulebook
    from rules.run.backtest import backtest

    if not DATA_DIR.exists():
        return None
    settings = get_settings()
    rulebook = load_rulebook([settings.rulebook])
    spec = load_sources(PROFILE, settings=settings, kinds=rulebook.kinds).get("nyc311")
    result = NycResult()
    records: list[Record] = []
    now = datetime.now(UTC)
    with build_source(spec, settings) as source:  # type: ignore[attr-defined]
        cursor = None
        while True:
            page = source.fetch(cursor, limit=2000)
            for raw in page.items:
                out = map_item(raw, spec.config, rulebook.kinds, "demo", now=now)
                if isinstance(out, Rejection):
                    result.rejected[out.code or "invalid"] += 1
                else:
                    records.append(out)
            if not page.has_more:
                break
            cursor = page.next_cursor
    records.sort(key=lambda r: r.key)
    result.records = len(records)
    result.warnings = backtest(rulebook, records)
    return result


def print_nyc311(console: Any) -> None:
    """Run :func:`backtest_nyc311` and print what it found."""
    from rich.table import Table

    from domain.regions import RegionDirectory
    from integrations.settings import get_settings
    from integrations.sources.nyc311 import DATA_DIR, REGIONS_FILE
    from integrations.workspace.present import rule_titles

    result = backtest_nyc311()
    if result is None:
        missing = _("纽约 311 样本缺失（{folder}），跳过真实数据部分；"
                    "请从仓库恢复：git checkout -- data/nyc311").format(folder=DATA_DIR)
        console.print(f"[yellow]{missing}[/]")
        return
    names = RegionDirectory.load(REGIONS_FILE)
    titles = rule_titles(get_settings().rulebook)
    table = Table(title=_("真实数据 — 纽约 311：映射投诉 {records} 条，隔离 {quarantined} 条（{codes}）；"
                          "预警 {warnings} 条").format(
        records=result.records, quarantined=sum(result.rejected.values()),
        codes="、".join(f"{label('rejection', c)} {n}" for c, n in result.rejected.items()),
        warnings=len(result.warnings)))
    for col in (_("规则"), _("等级"), _("地点"), _("次数"), _("首次（北京时间）")):
        table.add_column(col)
    order = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
    for w in sorted(result.warnings, key=lambda w: (order[w["level"]], -w["occurrences"]))[:8]:
        place = names.path(w["region"]).removeprefix("NEW YORK CITY / ")
        table.add_row(titles.get(w["rule"], w["rule"]), label("level_name", w["level"]), place, str(w["occurrences"]),
                      w["first_at"][:16].replace("T", " "))
    console.print(table)
