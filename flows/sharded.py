"""``backtest_sharded``: the sharded backtest from the store as a Prefect flow on Dask (docs/design.md#scale-path).

Each shard of each layer (:mod:`rules.run.sharding`) is one Prefect task; prefect-dask's
``DaskTaskRunner`` runs them in Dask worker *processes* with one thread each — durable_rules is
single-threaded and not thread-safe. Each task reads its own slice of the store
(:class:`integrations.store.shard_store.StoreSlice`), so only warnings travel between machines.

One machine (the default): a local Dask cluster of ``workers`` processes is started for the run.

Several machines: start a Dask scheduler and workers yourself, with the store reachable from every
worker (PostgreSQL: ``FENGHUO_DATABASE_URL`` set on each, this code installed on each)::

    dask scheduler                                   # on the coordinator, port 8786
    dask worker tcp://coordinator:8786 --nworkers 4 --nthreads 1    # on each machine

then run the ``backtest-sharded`` deployment (or call ``backtest_sharded``) with
``address="tcp://coordinator:8786"``: ``DaskTaskRunner(address=...)`` connects to that cluster instead
of starting one. Keep ``--nthreads 1``. SQLite only works when every worker is on the coordinator's
machine; use PostgreSQL across machines.

``backtest_sharded`` (the deployable flow) picks the cluster from its parameters and runs the shards in
a subflow, ``backtest_sharded_shards``, whose task runner is that cluster: a flow's task runner is fixed
when it is called, not by a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect_dask.task_runners import DaskTaskRunner

from flows.guard import ADMIN_HOOKS, require_safe_settings
from integrations.i18n import _
from integrations.settings import get_settings
from rules.run.shard_run import ShardJob, ShardResult, run_shard


@task(name="evaluate-shard", cache_policy=NONE)
def shard_task(job: ShardJob) -> ShardResult:
    """One shard in a Dask worker process."""
    return run_shard(job)


def _prefect_runner(jobs: Sequence[ShardJob]) -> list[ShardResult]:
    """Runs a layer's shards as Prefect tasks on the flow's task runner, all at once."""
    futures = [shard_task.with_options(name=f"shard-{j.name}").submit(j) for j in jobs]
    return [f.result() for f in futures]


def dask_runner(workers: int = 2, address: str | None = None) -> DaskTaskRunner:
    """A DaskTaskRunner: a local cluster of ``workers`` single-threaded processes, or the cluster at
    ``address``."""
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"processes": True, "n_workers": workers, "threads_per_worker": 1,
                                          "dashboard_address": None})


def run_sharded(url: str, since: datetime, until: datetime, rules: Path | None = None,
                engine: str = "durable", groups: int | None = None) -> list[dict[str, Any]]:
    """The body of :func:`backtest_sharded_shards` (call inside a flow whose task runner runs the shards)."""
    from integrations.store.shard_store import sharded_store_backtest
    from rules.language.loader import load_rulebook

    rulebook = load_rulebook([rules] if rules else None, rulebook=get_settings().rulebook)
    return sharded_store_backtest(rulebook, url, since, until, runner=_prefect_runner, engine=engine,
                                  groups=groups)


# The default task runner is a local Dask cluster of processes, never Prefect's thread pool: durable_rules
# is not thread-safe. backtest_sharded_on picks the size or a remote cluster.
_DEFAULT_RUNNER: Any = dask_runner()


@flow(name="backtest_sharded_shards", log_prints=True, task_runner=_DEFAULT_RUNNER)
def backtest_sharded_shards(since: datetime, until: datetime, rules: Path | None = None, url: str | None = None,
                            engine: str = "durable", groups: int | None = None) -> list[dict[str, Any]]:
    """Backtest the store's records in ``[since, until)`` sharded; the warnings, oldest first. The
    task runner is set by :func:`backtest_sharded_on` (default: a local 2-process Dask cluster)."""
    require_safe_settings()
    from integrations.settings import get_settings

    got = run_sharded(url or get_settings().resolved_database_url, since, until, rules, engine, groups)
    get_run_logger().info(_("分片回测 {since} .. {until}：{n} 条预警").format(since=since, until=until, n=len(got)))
    return got


def backtest_sharded_on(since: datetime, until: datetime, *, workers: int = 2, address: str | None = None,
                        rules: Path | None = None, url: str | None = None, engine: str = "durable",
                        groups: int | None = None) -> list[dict[str, Any]]:
    """Run :func:`backtest_sharded_shards` on a Dask cluster: local (``workers`` processes) or at
    ``address``; at most ``groups`` district shards a layer (default one per district)."""
    runner: Any = dask_runner(workers, address)  # a TaskRunner of Dask futures; Prefect's hint wants its own
    configured = backtest_sharded_shards.with_options(task_runner=runner)
    return configured(since, until, rules, url, engine, groups)


@flow(name="backtest_sharded", log_prints=True, **ADMIN_HOOKS)
def backtest_sharded(since: datetime, until: datetime, rules: Path | None = None, url: str | None = None,
                     engine: str = "durable", workers: int = 2, address: str | None = None,
                     groups: int | None = None) -> list[dict[str, Any]]:
    """The sharded backtest of ``[since, until)`` on a Dask cluster: ``workers`` local processes, or
    the running cluster at ``address`` (``tcp://host:8786``); the warnings, oldest first. This flow
    submits no task itself: its shards run in the subflow :func:`backtest_sharded_shards`."""
    require_safe_settings()
    return backtest_sharded_on(since, until, workers=workers, address=address, rules=rules, url=url,
                               engine=engine, groups=groups)
