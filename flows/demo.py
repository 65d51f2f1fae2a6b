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
from integrations.settings import get_settings, quiet_prefect

LEVELS = ("red", "orange", "yellow", "blue")
LEVEL_CN = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"}
ACK_SHARE = {"blue": 0.9, "yellow": 0.7, "orange": 0.6, "red": 0.8}
"""Share of warnings the simulated responders acknowledge in time, per level; the rest escalate."""


def _reset_home() -> None:
    settings = get_settings()
    if settings.database_url:
        console.print(f"[yellow]using the configured store {settings.database_url.split('@')[-1]}[/]")
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
    console.rule("[bold red]烽火 Fenghuo[/] demo — a simulated month in 成都")
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())
    totals: Counter[str] = Counter()
    with Progress(*columns, console=console, transient=False) as progress:
        step = progress.add_task("starting the departmental-systems simulator", total=rounds + 3)
        sim = start_simulator(seed=seed, days=days, reveal_until=DEFAULT_START)
        try:
            settings.simulator_url = sim.url
            # The demo's clock is January 2026: one-click links signed then would be long expired.
            settings.action_links = False
            from flows.demo_register import run_register_demo

            # Before the rounds, so their evaluation sees the visits falling due.
            register = run_register_demo(start=DEFAULT_START, until=DEFAULT_START + timedelta(days=days))
            progress.update(step, advance=1, description="starting Prefect (a temporary local API, ~10 s)")
            from flows.demo_tasks import simulate_grid_work
            from flows.pipeline import run_pipeline

            for r in range(rounds):
                clock = DEFAULT_START + timedelta(days=days * (r + 1) / rounds)
                progress.update(step, description=f"round {r + 1}/{rounds}: pipeline up to {clock:%m-%d %H:%M}")
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
            progress.update(step, description="SSRA: the worked example (demolition in 锦江区)")
            assessment = _seed_assessment(DEFAULT_START + timedelta(days=days))
            from flows.demo_fieldwork import report_field_matters

            fieldwork = report_field_matters(DEFAULT_START + timedelta(days=days))
            progress.update(step, advance=1, description="delivering the last notifications")
            from flows.escalate import escalate_warnings

            # Past the digest window (escalation.yaml), so the last blue and yellow go out too.
            escalate_warnings(now=DEFAULT_START + timedelta(days=days, minutes=11))
            _noise_section(DEFAULT_START + timedelta(days=days, minutes=20))
            progress.update(step, advance=1, description="done")
        finally:
            sim.stop()
    _summary(totals, assessment)
    from flows.demo_register import summary_line as register_line

    console.print(register_line(register), highlight=False)
    console.print("事件上报 field reports: " + ", ".join(f"{k} {v}" for k, v in fieldwork.items()), highlight=False)
    from flows.demo_kaohe import kaohe_week

    console.print(kaohe_week(DEFAULT_START + timedelta(days=days)))
    from flows.demo_nyc import print_nyc311

    with console.status("real data: NYC 311 records through the same rules …"):
        print_nyc311(console)
    console.print(f"\nNotifications written to {get_settings().resolved_outbox_dir}/. Next:\n"
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
        return _("静默：本轮无集体访，没有暂缓的通知")
    done = Counter(r.status for r in rows)
    return _("静默：一轮中暂缓通知 {n} 条 — {reason}；其后补发 {sent} 条，不再需要（已办结）{not_needed} 条，"
             "仍暂缓 {held} 条，待发送 {pending} 条").format(
        n=len(rows), reason=SILENCE_REASON, sent=done["sent"], not_needed=done["not_needed"],
        held=done["silenced"], pending=done["pending"])


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
    from flows.demo_tasks import summary_line
    from flows.store import store_engine
    from integrations.store.models import OutboxRow, WarningRow

    settings = get_settings()
    names = RegionDirectory.load(settings.regions)
    with Session(store_engine()) as session:
        warnings = session.exec(select(WarningRow)).all()
        outbox = session.exec(select(OutboxRow.recipient, OutboxRow.channel, OutboxRow.status,
                                     func.count()).group_by(OutboxRow.recipient, OutboxRow.channel,
                                                            OutboxRow.status)).all()
    console.print(f"records fetched {totals['fetched']}, quarantined {totals['quarantined']}, "
                  f"evaluated {totals['evaluated']}; warnings {len(warnings)}; acknowledged by responders "
                  f"{totals['acknowledged']}; escalations and reminders {totals['escalated']}")
    by: Counter[tuple[str, str]] = Counter()
    for w in warnings:
        by[(ancestor(w.region, Tier.district) or w.region, w.level)] += 1
    table = Table(title="Warnings by district and level (预警 按区县、等级)")
    table.add_column("district")
    for level in LEVELS:
        table.add_column(f"{LEVEL_CN[level]} {level}", justify="right")
    for district in sorted({d for d, _ in by}):
        table.add_row(names.name(district), *(str(by[(district, lv)] or "") for lv in LEVELS))
    table.add_row("[bold]all[/]", *(f"[bold]{sum(v for (_, lv), v in by.items() if lv == level)}[/]"
                                    for level in LEVELS))
    console.print(table)
    sent: Counter[str] = Counter()
    status: Counter[str] = Counter()
    for recipient, channel, st, n in outbox:
        sent[f"{recipient} ({channel})"] += n
        status[st] += n
    who = Table(title=f"Who was notified — {sum(sent.values())} notifications ({dict(status)})")
    who.add_column("recipient")
    who.add_column("notifications", justify="right")
    for name, n in sent.most_common(12):
        who.add_row(name, str(n))
    console.print(who)
    console.print(_silence_line(), highlight=False)
    console.print(_noise_line(), highlight=False)
    console.print(summary_line(totals), highlight=False)
    if assessment is not None:
        console.print(f"SSRA worked example: assessment #{assessment.assessment_id} "
                      f"{assessment.level_before} → {assessment.level_after} after mitigation, "
                      f"recommendation {assessment.recommendation}; status now {assessment.status}"
                      + (f", re-assessment warning #{assessment.warning_id}" if assessment.warning_id else ""))

