"""Ask durable_rules itself whether it accepts translated ``matches`` patterns.

durable_rules compiles each pattern to an automaton with fixed limits (states, transitions) and refuses
some patterns our subset allows (too many states, alternatives it cannot tell apart). The durable engine
asks when it compiles its rulesets (:func:`rules.engine.compile.in_python`) and evaluates a refused pattern in
Python instead, so the pattern is still accepted and gives the reference engine's answers.
"""

from __future__ import annotations

import json
import re
import subprocess  # nosec B404  # runs our own interpreter to time a pattern in isolation; no shell
import sys
from collections.abc import Iterable

from domain.messages import N_, Message

_TOO_COMPLEX = Message(N_("对 durable_rules 而言过于复杂"))
_ENGINE_ERRORS = {
    501: Message(N_("durable_rules 无法解析它")),
    502: Message(N_("对 durable_rules 而言过于复杂（转移过多）")),
    503: Message(N_("对 durable_rules 而言过于复杂（状态过多）；请减少重复或缩小重复次数")),
    504: _TOO_COMPLEX,
    505: _TOO_COMPLEX,
    506: _TOO_COMPLEX,
    507: Message(N_("durable_rules 无法区分它的各个分支（分支重叠）；请写得更简单")),
}

# Run in a child process: durable_rules' automaton compiler is C code that has crashed and hung on
# patterns outside our subset, and a check must not take the loading process down with it.
_CHECK_SCRIPT = """
import json, sys
try:
    import durable_rules_engine as dre
except ImportError:
    json.dump({"unavailable": True}, sys.stdout)
    sys.exit(0)
out = {}
for i, p in enumerate(json.load(sys.stdin)):
    rule = {"r": {"all": [{"m": {"$mt": {"s": p}}}]}}
    try:
        dre.create_ruleset("check%d" % i, json.dumps(rule, ensure_ascii=False))
        out[p] = None
    except Exception as exc:
        out[p] = str(exc)
json.dump({"results": out}, sys.stdout)
"""
_engine_cache: dict[str, str | None] = {}


def _explain(message: str) -> str:
    code = re.search(r"error code: (\d+)", message)
    return _ENGINE_ERRORS.get(int(code.group(1)), message) if code else message


def _ask_engine(patterns: list[str], timeout: float = 20.0) -> dict[str, str | None] | None:
    """durable_rules' verdict on each translated pattern; ``None`` if the child died or timed out."""
    try:
        done = subprocess.run(  # nosec B603  # argv is our interpreter and a fixed module; the pattern goes over stdin
            [sys.executable, "-c", _CHECK_SCRIPT],
            input=json.dumps(patterns, ensure_ascii=False),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
            check=False,
        )
        answer = json.loads(done.stdout) if done.returncode == 0 else None
    except OSError:  # cannot start a child here: no verdict, nothing refused
        return dict.fromkeys(patterns)
    except (subprocess.TimeoutExpired, ValueError):
        return None
    if not isinstance(answer, dict):
        return None
    if answer.get("unavailable"):
        return dict.fromkeys(patterns)  # no durable_rules here: nothing to refuse
    results = answer.get("results", {})
    return {p: (_explain(str(results[p])) if results.get(p) else None) for p in patterns}


def engine_refusals(translated: Iterable[str]) -> dict[str, str]:
    """Why durable_rules refuses each of these translated patterns (only those it refuses).

    Its matcher compiles patterns to automata with fixed limits; a refused pattern is evaluated in Python
    instead. One child process checks them all (answers are cached for the process); if it dies, each
    pattern is retried alone so the culprit is named."""
    patterns = list(translated)  # read twice below
    todo = sorted({p for p in patterns if p not in _engine_cache})
    if todo:
        verdicts = _ask_engine(todo)
        if verdicts is None:
            verdicts = {}
            for p in todo:
                alone = _ask_engine([p], timeout=10.0) if len(todo) > 1 else None
                verdicts[p] = alone[p] if alone is not None else Message(N_("durable_rules 处理它时崩溃或挂起"))
        _engine_cache.update(verdicts)
    return {p: v for p in patterns if (v := _engine_cache.get(p)) is not None}
