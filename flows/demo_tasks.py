"""The demo's grid workers (simulated): between rounds they take most open tasks and finish many of them,
some 不属实, some 需上报, and leave the rest to go overdue (the next round's SLA watch escalates those).

``flows/demo.py`` calls :func:`simulate_grid_work` once per round and adds what it returns to its totals;
:func:`summary_line` is the summary's line about tasks.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

from integrations.i18n import _
from integrations.labels import label
from integrations.settings import get_settings

TAKE_SHARE = 0.8
"""Share of open tasks a grid worker takes in a round."""
FINISH_SHARE = 0.75
"""Share of the taken tasks finished in the same round; the others are left to go overdue."""
OUTCOME_WEIGHTS = {"confirmed": 0.35, "unfounded": 0.25, "defused": 0.2, "escalate": 0.2}
NOTES = {"confirmed": "现场核实，情况属实，已报社区跟进", "unfounded": "现场核实，未发现反映的情况",
         "defused": "已上门沟通，当事人表示理解", "escalate": "群众情绪激动，需上级协调"}


def simulate_grid_work(clock: datetime, seed: int = 20260105) -> dict[str, int]:
    """Act on the open tasks as their grid workers would, a little after ``clock``; return the counts by
    outcome (``confirmed``, ``unfounded``, ``defused``, ``escalate``) and ``accepted`` / ``left``.

    The worker of a task is the nearest person (else duty unit) on duty at or above its node (the demo's directory has
    no one on most grids: the community's grid lead or the street stands in). Its own random stream, so
    the demo's other simulated responders draw what they drew before.
    """
    from sqlmodel import col, select

    from domain.responders import recipients_for
    from flows.store import store_engine
    from integrations.store.db import session_scope
    from integrations.store.task_models import TaskRow
    from integrations.store.tasks import TaskActionError
    from integrations.tasks import TaskContext, accept, done

    rng = random.Random(f"{seed}:{clock.isoformat()}")
    ctx = TaskContext.from_settings(get_settings())
    counts: Counter[str] = Counter()
    engine = store_engine()
    with session_scope(engine) as session:
        ids = list(session.exec(select(TaskRow.id).where(TaskRow.status == "open").order_by(col(TaskRow.id))))
    for task_id in ids:
        if task_id is None or rng.random() > TAKE_SHARE:
            continue
        at = clock + timedelta(minutes=rng.randint(5, 90))
        finish = rng.random() < FINISH_SHARE
        outcome = rng.choices(list(OUTCOME_WEIGHTS), weights=list(OUTCOME_WEIGHTS.values()))[0]
        try:
            with session_scope(engine) as session:
                row = session.get(TaskRow, task_id)
                assert row is not None
                people = recipients_for(row.region, row.tier, ctx.directory, at)
                if not people:
                    continue
                worker = next((p.id for p in people if p.kind == "person"), people[0].id)  # a person, if any
                accept(session=session, task_id=task_id, responder=worker, ctx=ctx, now=at)
                counts["accepted"] += 1
                if finish:
                    done(session=session, task_id=task_id, responder=worker, outcome=outcome,
                         note=NOTES[outcome], ctx=ctx, now=at + timedelta(minutes=rng.randint(20, 180)))
                    counts[outcome] += 1
                else:
                    counts["left"] += 1
        except TaskActionError:
            continue  # refused (and audited): another worker's, or already finished
    return dict(counts)


def summary_line(totals: Counter[str] | dict[str, int]) -> str:
    """The demo summary's line about tasks: by outcome, and how many the store has overdue now."""
    from sqlmodel import Session, func, select

    from flows.store import store_engine
    from integrations.store.task_models import TaskRow

    with Session(store_engine()) as session:
        by_status = dict(session.exec(select(TaskRow.status, func.count()).group_by(TaskRow.status)).all())
    outcomes = "，".join(f"{label('task_outcome', k)} {totals.get(k, 0)}" for k in OUTCOME_WEIGHTS)
    return _("网格任务：生成 {created} 件，网格员接单 {accepted} 件；按结果办结：{outcomes}；当前超期 {overdue} 件，"
             "仍未办结 {open} 件").format(
        created=sum(by_status.values()), accepted=totals.get("accepted", 0), outcomes=outcomes,
        overdue=by_status.get("overdue", 0), open=by_status.get("open", 0) + by_status.get("accepted", 0))
