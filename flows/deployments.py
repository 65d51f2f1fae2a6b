"""The scheduled deployments, in one place: `fenghuo serve` serves these; prefect.yaml declares the same
for `prefect deploy` (a test keeps the two in agreement).

Times are Asia/Shanghai. Every few minutes each source is ingested and, right after, evaluated and
escalated (one `run_pipeline` per source, staggered across the interval by their anchors so that the
sources are not all pulled in the same second); the SLA watch runs every minute; the situation report daily
at 08:00; the 考核 report of the previous month on the 1st at 08:00; the assessment follow-up weekly on
Monday 09:00. The sharded backtest (`backtest-sharded`) has no schedule: administrators run it on demand
(README, "Operations").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from integrations.i18n import _

TIMEZONE = "Asia/Shanghai"
ANCHOR = datetime(2026, 1, 1, tzinfo=ZoneInfo(TIMEZONE))
"""Interval schedules count from here plus each deployment's offset (prefect.yaml: ``anchor_date``)."""
SOURCES = ("xinfang", "mediation", "hotline12345", "public-safety", "opinion-monitor", "civil-affairs-due",
           "civil-affairs-visit")
"""The departmental sources (names as in the source configuration)."""


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: which flow, when, with which parameters."""

    name: str
    flow: str  # "module:function"
    interval_s: int | None = None
    offset_s: int = 0  # where in the interval it fires: staggers deployments of the same interval
    cron: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def anchor(self) -> datetime | None:
        """The anchor date of an interval schedule (``None`` for cron and on demand)."""
        return ANCHOR + timedelta(seconds=self.offset_s) if self.interval_s else None

    @property
    def when(self) -> str:
        """The schedule in words (``on demand`` without one)."""
        if self.interval_s:
            return f"every {self.interval_s}s +{self.offset_s}s"
        return f"cron '{self.cron}'" if self.cron else "on demand"


def deployment_specs(
    sources: tuple[str, ...] = SOURCES, ingest_every_s: int = 300, watch_every_s: int = 60
) -> list[DeploymentSpec]:
    """Every deployment Fenghuo runs on a schedule."""
    specs = [
        DeploymentSpec(
            name=f"pipeline-{name}",
            flow="flows.pipeline:run_pipeline",
            interval_s=ingest_every_s,
            offset_s=i * ingest_every_s // len(sources),
            parameters={"sources": [name]},
            description=_("接入 {source}，随即评估规则并升级。").format(source=name),
        )
        for i, name in enumerate(sources)
    ]
    specs += [
        # Half an interval off the minute, away from the first pipeline.
        DeploymentSpec(name="sla-watch", flow="flows.escalate:escalate_warnings", interval_s=watch_every_s,
                       offset_s=watch_every_s // 2,
                       description=_("升级未按时签收的预警；投递发件箱。")),
        DeploymentSpec(name="daily-report", flow="flows.report:report_situation", cron="0 8 * * *",
                       description=_("每日态势报告（日报），报送市级。")),
        DeploymentSpec(name="monthly-kaohe", flow="flows.report_kaohe:report_kaohe", cron="0 8 1 * *",
                       parameters={"period": "month"},
                       description=_("上月考核报告（HTML、Excel），按区和街道。")),
        DeploymentSpec(name="ssra-follow-up", flow="flows.assess:follow_up_assessments", cron="0 9 * * 1",
                       description=_("将信访和纠纷关联到已实施的决策；上升时重新评估。")),
        # On demand (no schedule): `since` and `until` are given with each run; `address` points it at a
        # running Dask cluster of several machines, else it starts `workers` local processes.
        DeploymentSpec(name="backtest-sharded", flow="flows.sharded:backtest_sharded",
                       parameters={"workers": 2, "engine": "durable"},
                       description=_("在 Dask 上分片回测 [since, until) 的存储记录；按需运行"
                                     "（docs/design.md#scale-path）。")),
    ]
    return specs


def load_flow(ref: str) -> Any:
    """Import ``module:function`` and return the flow object."""
    import importlib

    module, _colon, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def to_deployments(specs: list[DeploymentSpec]) -> list[Any]:
    """Prefect ``RunnerDeployment`` objects for ``prefect.serve``."""
    from prefect.schedules import Cron, Interval

    out = []
    for spec in specs:
        schedule = (Interval(spec.interval_s, anchor_date=spec.anchor, timezone=TIMEZONE) if spec.interval_s
                    else Cron(spec.cron, timezone=TIMEZONE) if spec.cron else None)
        out.append(load_flow(spec.flow).to_deployment(
            name=spec.name, schedule=schedule, parameters=spec.parameters, description=spec.description))
    return out
