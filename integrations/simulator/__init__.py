"""A simulator of departmental systems (信访, 调解, 12345, 公安, 舆情, 民政 care visits) for the demo
and the tests: seeded synthetic data for Chengdu's ten central districts, served over HTTP with
paginated cursors, live appends and injectable faults.

>>> with start_simulator(seed=1) as sim:  # doctest: +SKIP
...     httpx.get(sim.url + "/api/petition?limit=10").json()["items"]
"""

from integrations.simulator.faults import Faults
from integrations.simulator.generate import DEFAULT_DAYS, DEFAULT_START, KINDS
from integrations.simulator.month import generate
from integrations.simulator.regions import region_directory
from integrations.simulator.server import RunningSimulator, start_simulator

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_START",
    "KINDS",
    "Faults",
    "RunningSimulator",
    "generate",
    "region_directory",
    "start_simulator",
]
