"""``fenghuo demo``: the whole beacon chain over a simulated month, on this machine, in about a minute.

It starts the departmental-systems simulator on 127.0.0.1, then runs ``run_pipeline`` once per round
while the simulated clock moves through the month (the simulator only shows what has happened by then).
Between rounds, simulated responders acknowledge some warnings in time and leave others, so the SLA watch
escalates those. At the end the SSRA worked example is seeded and followed up, and a summary is printed.
The database stays in ``FENGHUO_HOME`` for ``fenghuo warnings list``.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows.console import console
from integrations.i18n import _
from integrations.labels import label
from integrations.settings import get_settings, quiet_prefect

LEVELS = ("red", "orange", "yellow", "blue")
ACK_SHARE = {"blue": 0.9, "yellow": 0.7, "orange": 0.6, "red": 0.8}
"""Share of warnings the simulated responders acknowledge in time, per level; the rest escalate."""


def _reset_home() -> None:
    settings = get_settings()
    if settings.database_url:
        store = settings.database_url.split("@")[-1]
        console.print("[yellow]" + _("使用已配置的存储 {store}").format(store=store) + "[/]")
    else:
        for suffix in ("", "-wal", "-shm"):
            (settings.home / f"fenghuo.db{suffix}").unlink(missing_ok=True)
    shutil.rmtree(settings.resolved_outbox_dir, ignore_errors=True)


def _simulated_responders(clock: datetime, rng: random.Random) -> int:
    """Acknowledge a share of the warnings opened this round, a few minutes after they were routed."""
    from sqlmodel import col, select

    from domain.responders import ResponderDirectory
    from flows.store import store_engine
    from integrations.store.actions import ActionError, acknowledge
    from integrations.store.db import session_scope
    from integrations.store.models import OutboxRow, WarningRow

    acked = 0
    directory = ResponderDirectory.load(get_settings().responders)
    with session_scope(store_engine()) as session:
        rows = session.exec(select(WarningRow).where(WarningRow.status == "open",
                                                     WarningRow.escalation_step == 0)).all()
        for row in sorted(rows, key=lambda r: r.id or 0):
            # The first person the warning was routed to answers (or not, as people sometimes don't).
            first = session.exec(select(OutboxRow.recipient).where(OutboxRow.warning_id == row.id)
                                 .order_by(col(OutboxRow.id))).first()
            if first is None or rng.random() > ACK_SHARE.get(row.level, 0.5):
                continue
            try:
                acknowledge(session=session, warning_id=row.id or 0, responder=first, directory=directory,
                            reason="已收到，正在核实处置", now=clock + timedelta(minutes=rng.randint(3, 12)))
                acked += 1
            except ActionError:
                continue  # not theirs after all: leave it to the SLA watch
    return acked


def run_demo(*, days: int = 30, seed: int = 20260105, rounds: int = 6) -> None:
    """Run the demo and print its summary."""
    # The summary reports quarantine and escalations; Prefect's own warnings would only break the progress bar.
    quiet_prefect("ERROR")
    from integrations.simulator.generate import DEFAULT_START
    from integrations.simulator.server import start_simulator

    settings = get_settings()
    _reset_home()
    rng = random.Random(seed)
    console.rule("[bold red]" + _("烽火") + "[/] " + _("演示 — 模拟成都的一个月"))
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())
    totals: Counter[str] = Counter()
    with Progress(*columns, console=console, transient=False) as progress:
        step = progress.add_task(_("正在启动部门系统模拟器"), total=rounds + 3)
        sim = start_simulator(seed=seed, days=days, reveal_until=DEFAULT_START)
        try:
            settings.simulator_url = sim.url
            # The demo's clock is January 2026: one-click links signed then would be long expired.
            settings.action_links = False
            from flows.demo_register import run_register_demo

            # Before the rounds, so their evaluation sees the visits falling due.
            register = run_register_demo(start=DEFAULT_START, until=DEFAULT_START + timedelta(days=days))
            progress.update(step, advance=1, description=_("正在启动 Prefect（临时的本地 API，约 10 秒）"))
            from flows.demo_tasks import simulate_grid_work
            from flows.pipeline import run_pipeline

            for r in range(rounds):
                clock = DEFAULT_START + timedelta(days=days * (r + 1) / rounds)
                progress.update(step, description=_("第 {round}/{rounds} 轮：流水线运行到 {clock}").format(
                    round=r + 1, rounds=rounds, clock=f"{clock:%m-%d %H:%M}"))
                if r == rounds // 2:
                    _announce_silence(clock)  # this round's collective petitions are expected: held
                sim.reveal_until(clock)
                result: dict[str, Any] = run_pipeline(now=clock)
                for item in result["ingested"]:
                    totals["fetched"] += item["fetched"]
                    totals["quarantined"] += item["quarantined"]
                totals["evaluated"] += result["evaluated"]["records"]
                totals["escalated"] += result["escalated"]["escalated"]
                totals["acknowledged"] += _simulated_responders(clock, rng)
                totals.update(simulate_grid_work(clock))  # grid workers take and finish tasks
                progress.update(step, advance=1)
            progress.update(step, description=_("社会稳定风险评估：示例（锦江区拆迁）"))
            assessment = _seed_assessment(DEFAULT_START + timedelta(days=days))
            from flows.demo_fieldwork import report_field_matters

            fieldwork = report_field_matters(DEFAULT_START + timedelta(days=days))
            progress.update(step, advance=1, description=_("正在投递最后的通知"))
            from flows.escalate import escalate_warnings

            # Past the digest window (escalation.yaml), so the last blue and yellow go out too.
            escalate_warnings(now=DEFAULT_START + timedelta(days=days, minutes=11))
            _noise_section(DEFAULT_START + timedelta(days=days, minutes=20))
            progress.update(step, advance=1, description=_("完成"))
        finally:
            sim.stop()
    _summary(totals, assessment)
    from flows.demo_register import summary_line as register_line

    console.print(register_line(register), highlight=False)
    console.print(_("事件上报：入库 {stored}，重复 {duplicate}，隔离 {quarantined}，拒收 {refused}；网格与办理时限"
                    "规则发出预警 {warnings} 条").format(**fieldwork), highlight=False)
    from flows.demo_kaohe import kaohe_week

    console.print(kaohe_week(DEFAULT_START + timedelta(days=days)))
    from flows.demo_nyc import print_nyc311

    with console.status(_("真实数据：纽约 311 记录经同一套规则 …")):
        print_nyc311(console)
    console.print("\n" + _("通知已写入 {folder}/。接下来：").format(folder=get_settings().resolved_outbox_dir) + "\n"
                  "  uv run fenghuo warnings list\n  uv run fenghuo warnings show <id>\n"
                  "  uv run fenghuo rules test\n  uv run fenghuo assess list\n"
                  "  uv run fenghuo report --date 2026-01-25")

def _announce_silence(clock: datetime) -> None:
    """The city duty office silences collective petitions for one round (up to orange): they open and are
    recorded as usual, their notifications wait and go out after the round if still open."""
    from flows.context import RoutingContext
    from flows.demo_noise import SILENCE_REASON
    from flows.store import store_engine
    from integrations.store.db import session_scope
    from integrations.store.silences import add_silence

    with session_scope(store_engine()) as session:
        add_silence(session, directory=RoutingContext.load(get_settings()).directory, author="cd-duty-office",
                    rule="collective-petition", region=None, level="orange", category=None,
                    until=clock + timedelta(minutes=5), reason=SILENCE_REASON, now=clock - timedelta(minutes=1),
                    max_length=timedelta(hours=get_settings().silence_max_hours))


def _noise_section(at: datetime) -> None:
    """After the rounds: a silence, a cluster holding its streets and a warning gone stale, played through
    the real paths (``flows.demo_noise.noise_section``), so the summary shows each whatever the data."""
    from flows.context import RoutingContext
    from flows.demo_noise import noise_section
    from flows.store import store_engine
    from integrations.notify.registry import build_channels
    from rules.language.loader import load_rulebook

    settings = get_settings()
    noise_section(store_engine(), RoutingContext.load(settings).routing(), build_channels(settings), at=at,
                  rules=load_rulebook([settings.rulebook]).rules)


def _silence_line() -> str:
    """How many notifications the demo's silence held, and what became of them."""
    from sqlmodel import Session, col, select

    from flows.demo_noise import SILENCE_REASON
    from flows.store import store_engine
    from integrations.i18n import _
    from integrations.store.models import OutboxRow

    with Session(store_engine()) as session:
        rows = [r for r in session.exec(select(OutboxRow).where(col(OutboxRow.payload).is_not(None)))
                if r.payload.get("silence")]
    if not rows:
        return _("静默：没有压下任何通知（静默的那一轮没有集体访）")
    done = Counter(r.status for r in rows)
    return _("静默：一轮中压下 {n} 条通知 — {reason}；之后已发送 {sent}，无需发送（期间已办结）{not_needed}，"
             "仍压下 {held}，待发送 {pending}").format(
        n=len(rows), reason=SILENCE_REASON, sent=done["sent"], not_needed=done["not_needed"], held=done["silenced"],
        pending=done["pending"])


def _noise_line() -> str:
    """The Chinese summary of what the noise controls held and why, and the warnings gone stale."""
    from sqlmodel import Session

    from flows.demo_noise import noise_counts, noise_line
    from flows.store import store_engine
    from rules.language.loader import load_rulebook

    every = {r.id: r.notify_every for r in load_rulebook([get_settings().rulebook]).rules if r.notify_every}
    with Session(store_engine()) as session:
        return noise_line(noise_counts(session, every))


def _seed_assessment(now: datetime) -> Any:
    from flows.assess_demo import seed_demo_assessment
    from flows.context import RoutingContext
    from flows.store import store_engine

    return seed_demo_assessment(store_engine(), now=now, routing=RoutingContext.load(get_settings()).routing())


def _summary(totals: Counter[str], assessment: Any) -> None:
    from sqlmodel import Session, func, select

    from domain.regions import RegionDirectory, Tier, ancestor
    from domain.responders import ResponderDirectory
    from flows.demo_tasks import summary_line
    from flows.store import store_engine
    from integrations.store.models import OutboxRow, WarningRow

    settings = get_settings()
    names = RegionDirectory.load(settings.regions)
    people = ResponderDirectory.load(settings.responders)
    with Session(store_engine()) as session:
        warnings = session.exec(select(WarningRow)).all()
        outbox = session.exec(select(OutboxRow.recipient, OutboxRow.channel, OutboxRow.status,
                                     func.count()).group_by(OutboxRow.recipient, OutboxRow.channel,
                                                            OutboxRow.status)).all()
    console.print(_("采集记录 {fetched} 条，隔离 {quarantined} 条，研判 {evaluated} 条；预警 {warnings} 条；"
                    "责任人签收 {acked} 条；升级与催办 {escalated} 次").format(
        fetched=totals["fetched"], quarantined=totals["quarantined"], evaluated=totals["evaluated"],
        warnings=len(warnings), acked=totals["acknowledged"], escalated=totals["escalated"]))
    by: Counter[tuple[str, str]] = Counter()
    for w in warnings:
        by[(ancestor(w.region, Tier.district) or w.region, w.level)] += 1
    table = Table(title=_("预警：按区县、等级"))
    table.add_column(_("区县"))
    for level in LEVELS:
        table.add_column(label("level_name", level), justify="right")
    for district in sorted({d for d, _level in by}):
        table.add_row(names.name(district), *(str(by[(district, lv)] or "") for lv in LEVELS))
    table.add_row("[bold]" + _("合计") + "[/]", *(f"[bold]{sum(v for (_d, lv), v in by.items() if lv == level)}[/]"
                                    for level in LEVELS))
    console.print(table)
    sent: Counter[str] = Counter()
    status: Counter[str] = Counter()
    for recipient, channel, st, n in outbox:
        person = people.responder(recipient)
        sent[f"{person.name if person else recipient}（{label('channel', channel)}）"] += n
        status[st] += n
    states = "，".join(f"{label('outbox_status', s)} {n}" for s, n in status.items())
    who = Table(title=_("通知了谁 — 共 {n} 条通知（{states}）").format(n=sum(sent.values()), states=states))
    who.add_column(_("接收人"))
    who.add_column(_("通知数"), justify="right")
    for name, n in sent.most_common(12):
        who.add_row(name, str(n))
    console.print(who)
    console.print(_silence_line(), highlight=False)
    console.print(_noise_line(), highlight=False)
    console.print(summary_line(totals), highlight=False)
    if assessment is not None:
        console.print(_("社会稳定风险评估示例：评估 #{id} {before} → 化解后 {after}，"
                        "建议：{recommendation}；当前状态：{status}").format(
            id=assessment.assessment_id, before=label("ssra_level", assessment.level_before),
            after=label("ssra_level", assessment.level_after),
            recommendation=label("ssra_recommendation", assessment.recommendation),
            status=label("assessment_status", assessment.status))
            + (_("，重新评估预警 #{id}").format(id=assessment.warning_id) if assessment.warning_id else ""))

