"""Load a rulebook: rule files from PATHs, the record kinds and the calendars, all validated.

:func:`load_rulebook` reads every ``*.yaml`` under the PATHs. A file with a top-level ``ruleset`` is a
rule file; one with a top-level ``kinds`` map is the kinds file; one shaped like calendars (or named
``calendars.yaml``) is the calendars file; anything else is a data file and is skipped. When the PATHs
hold no kinds or calendars file, ``kinds.yaml``/``calendars.yaml`` are looked for in the PATH's folder,
then the rulebook folder, then its parent (the shipped layout is ``rules/catalog/*.yaml`` with
``rules/kinds.yaml`` and ``rules/calendars.yaml``).

A file with any error is left out whole and its errors are reported; the other files load. Duplicate
rule ids or ruleset names across files leave out the later file (in path order); a chaining cycle
leaves out every file holding a rule of the cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.kinds import KindsError, RecordKinds
from domain.messages import N_, Message, message_of
from rules.language.calendars import Calendars
from rules.language.chaining import find_cycles
from rules.language.diagnostics import RuleError
from rules.language.diagnostics import from_validation_error as _pydantic_errors
from rules.language.files import content_digest, display_path, file_digests, files_stamp, not_rules, yaml_files
from rules.language.model import Rule, RuleFile, TestCase
from rules.language.positions import LanguageError, LineMap
from rules.language.validate import validate_file
from rules.language.yaml_safe import MAX_BYTES, YamlError, load_yaml, too_large

__all__ = ["RuleError", "Rulebook", "default_rulebook", "display_path", "load_rulebook", "rulebook_stamp", "yaml_files"]


@dataclass(frozen=True)
class Rulebook:
    """The valid rules of a set of files, what they were checked against, and what was wrong."""

    rules: tuple[Rule, ...]
    files: dict[str, RuleFile]
    """Each rule file that loaded, by its displayed path."""
    kinds: RecordKinds
    calendars: Calendars
    version: str
    """SHA-256 of the canonical content of the loaded rule files, kinds and calendars, and of the names
    of the :attr:`failed` files: the same rules with a file failing are another version."""
    errors: tuple[RuleError, ...] = ()
    checked: tuple[str, ...] = field(default=())
    """Every YAML file read (rule, data or rejected), displayed paths."""
    failed: tuple[str, ...] = field(default=())
    """The files left out for their errors (displayed paths): their rules do not run, the others do."""
    digests: dict[str, str] = field(default_factory=dict)
    """Per file that makes the :attr:`version` (rule files, kinds, calendars; displayed paths), the
    SHA-256 of its canonical content: which files an edit changed (the live evaluator audits them)."""

    @property
    def ok(self) -> bool:
        """True when no file had an error."""
        return not self.errors

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; ``KeyError`` if none."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def default_rulebook() -> Path:
    """The shipped rulebook folder (``rules/catalog``). The configured one (``FENGHUO_RULEBOOK``) is the
    callers' to pass: the language reads no settings."""
    return Path(__file__).resolve().parents[1] / "catalog"


def rulebook_stamp(paths: Sequence[Path] | Path | None = None) -> tuple[tuple[str, int, int], ...]:
    """A cheap fingerprint of the files :func:`load_rulebook` would read for ``paths`` (no parsing: see
    :func:`rules.language.files.files_stamp`); the kinds and calendars fall back as the load does."""
    book = default_rulebook()
    roots = [paths] if isinstance(paths, Path) else list(paths or [book])
    return files_stamp(roots, [*(p if p.is_dir() else p.parent for p in roots), book, book.parent])


class _Loading:
    """One load: files read, what they are, errors so far."""

    def __init__(self, paths: Sequence[Path], rulebook: Path) -> None:
        self.paths = paths
        self.rulebook = rulebook
        self.errors: list[RuleError] = []
        self.parsed: dict[Path, Any] = {}

    def read(self, path: Path) -> Any:
        """Parsed YAML of one file, or ``_FAILED`` with the error noted."""
        name = display_path(path)
        try:
            return load_yaml(_read_bounded(path).decode("utf-8"))
        except YamlError as exc:
            self.errors.append(RuleError(name, exc.line or 1, exc.message))
        except UnicodeDecodeError:
            self.errors.append(RuleError(name, 1, Message(N_("文件不是 UTF-8 文本"))))
        except OSError as exc:
            self.errors.append(RuleError(name, 1, Message(N_("无法读取：{reason}"), reason=str(exc.strerror or exc))))
        except (RecursionError, MemoryError) as exc:  # never seen past the limits above: stop this file only
            self.errors.append(RuleError(name, 1, _cannot_load(exc)))
        return _FAILED

    def data_file(self, wanted: str, shape_ok: Any) -> tuple[Path | None, Any]:
        """The kinds or calendars file: one among the PATHs, else the first found by the lookup order."""
        for path, data in self.parsed.items():
            if data is not _FAILED and shape_ok(path, data):
                return path, data
        folders = [p if p.is_dir() else p.parent for p in self.paths]
        for folder in [*folders, self.rulebook, self.rulebook.parent]:
            candidate = folder / wanted
            if candidate.is_file():
                data = self.parsed.get(candidate)
                if data is None:
                    data = self.read(candidate)
                return (candidate, data) if data is not _FAILED else (None, None)
        return None, None


_FAILED = object()


def _cannot_load(exc: BaseException) -> Message:
    return Message(N_("无法载入（{error}）；请简化文件"), error=type(exc).__name__)


def _read_bounded(path: Path) -> bytes:
    """A file's bytes, its size checked before reading (and never more than the limit read, should it
    grow meanwhile): a huge file is refused without being read."""
    if not path.is_file():
        raise YamlError(Message(N_("不是普通文件")), 1)
    if path.stat().st_size > MAX_BYTES:
        raise YamlError(too_large(), 1)
    with path.open("rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise YamlError(too_large(), 1)
    return data


def _is_kinds(path: Path, data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("kinds"), dict) and "ruleset" not in data


def _is_calendars(path: Path, data: Any) -> bool:
    # A scalar or list file (e.g. "1") is no calendar and must not reach the `in` test.
    if isinstance(data, dict) and "ruleset" in data:
        return False
    return path.name == "calendars.yaml" or Calendars.looks_like(data)


def load_rulebook(paths: Sequence[Path] | Path | None = None, rulebook: Path | None = None) -> Rulebook:
    """Load and validate the rule files under ``paths`` (default: ``rulebook``, else the shipped one)."""
    book = rulebook or default_rulebook()
    roots = [paths] if isinstance(paths, Path) else list(paths or [book])
    run = _Loading(roots, book)
    files = yaml_files(roots)
    for path in files:
        if not path.exists():
            run.errors.append(RuleError(display_path(path), 1, Message(N_("没有这个文件或文件夹"))))
            continue
        run.parsed[path] = run.read(path)

    kinds_path, kinds_data = run.data_file("kinds.yaml", _is_kinds)
    kinds = RecordKinds()
    if kinds_path is None:
        run.errors.append(RuleError(display_path(book), 1, Message(N_("找不到这些规则的 kinds.yaml"))))
    else:
        try:
            kinds = RecordKinds.from_mapping(kinds_data or {})
        except KindsError as exc:
            run.errors.append(RuleError(display_path(kinds_path), 1, message_of(exc) or str(exc)))
    cal_path, cal_data = run.data_file("calendars.yaml", _is_calendars)
    calendars = Calendars()
    if cal_path is not None:
        try:
            calendars = Calendars.from_mapping(cal_data)
        except LanguageError as exc:
            run.errors.append(RuleError(display_path(cal_path), exc.line or 1, exc.message))

    loaded: dict[Path, RuleFile] = {}
    named = {p for p in roots if p.suffix in (".yaml", ".yml")}  # files given by name, not found in a folder
    for path, data in run.parsed.items():
        if data is _FAILED or path in (kinds_path, cal_path):
            continue
        name = display_path(path)
        if not isinstance(data, dict) or "ruleset" not in data:
            if (why := not_rules(data, path in named)) is not None:
                run.errors.append(RuleError(name, 1, why))
            continue  # a data file, not ours to judge
        try:
            rule_file = _parse(name, data, kinds, calendars, run.errors)
        except (RecursionError, MemoryError) as exc:  # one bad file stops only its own rules
            run.errors.append(RuleError(name, 1, _cannot_load(exc)))
            continue
        if rule_file is not None:
            loaded[path] = rule_file

    loaded = _cross_file(loaded, run.errors)
    rule_data = [run.parsed[p] for p in loaded]
    names = {display_path(p) for p in loaded}
    failed = tuple(sorted({e.file for e in run.errors} - names))
    return Rulebook(
        rules=tuple(r for rf in loaded.values() for r in rf.rules),
        files={display_path(p): rf for p, rf in loaded.items()},
        kinds=kinds,
        calendars=calendars,
        version=content_digest(rule_data, kinds_data, cal_data, failed),
        errors=tuple(sorted(set(run.errors))),
        checked=tuple(display_path(p) for p in run.parsed),
        failed=failed,
        digests=file_digests({p: run.parsed[p] for p in loaded}, (kinds_path, kinds_data), (cal_path, cal_data)),
    )


def _parse(
    name: str, data: Any, kinds: RecordKinds, calendars: Calendars, errors: list[RuleError]
) -> RuleFile | None:
    """One rule file through the schema and the kind/field checks; ``None`` (errors noted) if bad.

    Rules are validated one by one so that a schema error in one rule does not hide the field and kind
    errors of the others."""
    context = {"file": name, "kinds": kinds}
    before = len(errors)
    parts: dict[str, list[Any]] = {"rules": [], "tests": []}
    shell = LineMap(data)
    shell.line, shell.key_lines = data.line, data.key_lines
    for key, model in (("rules", Rule), ("tests", TestCase)):
        if not isinstance(data.get(key), list):
            continue  # let the file schema say what is wrong with it
        shell[key] = []
        for i, raw in enumerate(data[key]):
            try:
                parts[key].append(model.model_validate(raw, context=context))
            except ValidationError as exc:
                errors.extend(_pydantic_errors(exc, data, name, (key, i)))
    update = {"rules": tuple(parts["rules"]), "tests": tuple(parts["tests"])}
    try:
        rule_file = RuleFile.model_validate(shell, context=context).model_copy(update=update)
    except ValidationError as exc:
        errors.extend(_pydantic_errors(exc, data, name))
        # still check the rules and tests that parsed, so one pass shows every error
        rules, tests = update["rules"], update["tests"]
        rule_file = RuleFile.model_construct(ruleset="", file=name, rules=rules, tests=tests)
    problems = validate_file(rule_file, kinds, calendars)
    errors.extend(RuleError(name, line, message) for line, message in problems)
    return None if len(errors) > before else rule_file


def _cross_file(loaded: dict[Path, RuleFile], errors: list[RuleError]) -> dict[Path, RuleFile]:
    """Duplicate ids and ruleset names across files, then chaining cycles; returns the files kept."""
    kept: dict[Path, RuleFile] = {}
    rule_at: dict[str, str] = {}
    ruleset_at: dict[str, str] = {}
    for path, rf in loaded.items():
        clashes = []
        if rf.ruleset in ruleset_at:
            msg = Message(N_("规则集 '{name}' 重复（首次出现在 {where}）"), name=rf.ruleset,
                          where=ruleset_at[rf.ruleset])
            clashes.append((rf.lines.get("ruleset", 1), msg))
        for r in rf.rules:
            if r.id in rule_at:
                msg = Message(N_("规则 id '{id}' 重复（首次出现在 {where}）"), id=r.id, where=rule_at[r.id])
                clashes.append((r.lines.get("id", r.line), msg))
        if clashes:
            errors.extend(RuleError(rf.file, line, msg) for line, msg in clashes)
            continue
        ruleset_at[rf.ruleset] = f"{rf.file}:{rf.lines.get('ruleset', 1)}"
        rule_at.update({r.id: f"{r.file}:{r.lines.get('id', r.line)}" for r in rf.rules})
        kept[path] = rf
    rules = [r for rf in kept.values() for r in rf.rules]
    by_id = {r.id: r for r in rules}
    bad_files: set[str] = set()
    for cycle in find_cycles(rules):
        chain = " → ".join([*cycle, cycle[0]])
        for rid in cycle:
            rule = by_id[rid]
            if len(cycle) == 1:
                msg = Message(N_("规则 '{rule}' 可能消费它自己的预警；请排除，例如 rule: {{ne: {rule}}}"), rule=rid)
            else:
                msg = Message(N_("规则 '{rule}' 可能经由 {chain} 消费它自己的预警；请用 rule 或 level 条件排除"),
                              rule=rid, chain=chain)
            errors.append(RuleError(rule.file, rule.line, msg))
            bad_files.add(rule.file)
    return {p: rf for p, rf in kept.items() if rf.file not in bad_files}
