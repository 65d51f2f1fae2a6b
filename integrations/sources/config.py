"""Load ``sources.yaml`` into :class:`SourceSpec` objects; every problem is ``FILE:LINE: message``.

Placeholders in ``base_url``, ``filedrop.folder`` and ``auth.token_url``: ``${simulator_url}``,
``${package_root}`` (the checkout) and ``${home}`` (settings). A relative folder or lookup file is
relative to the sources file. With ``kinds``, mapped fields are checked against the record kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.kinds import RecordKinds
from domain.messages import N_, Message, message_of
from domain.regions import RegionCodeError, validate_code
from domain.validation_messages import error_message
from domain.watermarks import SourceTiming, parse_span
from integrations.settings import PACKAGE_ROOT, Settings
from integrations.sources.mapping import SourceConfig
from integrations.sources.schema import AuthModel, PaginationModel, SourceModel, SourcesFileModel
from rules.language.positions import key_line, line_of
from rules.language.yaml_safe import YamlError, load_yaml

DEFAULT_SOURCES_FILE = PACKAGE_ROOT / "integrations" / "data" / "sources.yaml"
_PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")


@dataclass(frozen=True)
class SourceFileError:
    """One problem in a sources file."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class SourcesFileError(ValueError):
    """A sources file that cannot be used; ``errors`` lists every problem found."""

    def __init__(self, errors: list[SourceFileError]) -> None:
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


@dataclass(frozen=True)
class SourceSpec:
    """A configured source: its mapping and how to reach it (REST or a file-drop folder)."""

    config: SourceConfig
    transport: str
    """``rest``, ``filedrop``, ``register`` or ``push`` (delivered only by the department, to the intake)."""
    base_url: str = ""
    auth: AuthModel = field(default_factory=AuthModel)
    pagination: PaginationModel = field(default_factory=PaginationModel)
    folder: Path | None = None
    file_format: str = "csv"
    pattern: str = "*"
    encoding: str = "auto"
    delimiter: str = ","
    line: int = 0
    timing: SourceTiming = field(default_factory=SourceTiming)
    """Declared interval, allowed lateness and staleness (live evaluation's watermarks)."""
    push_token: str | None = None
    """The secret's name for pushing to the intake, if the department may push."""
    first_run: timedelta = timedelta(days=1)
    """``register``: how far back its first run starts."""

    @property
    def name(self) -> str:
        """The source's name."""
        return self.config.name


@dataclass(frozen=True)
class SourcesFile:
    """All sources of one file, in file order."""

    path: Path
    specs: tuple[SourceSpec, ...]

    @property
    def names(self) -> list[str]:
        """Source names."""
        return [s.name for s in self.specs]

    @property
    def timings(self) -> dict[str, SourceTiming]:
        """Each source's declared timing, by name."""
        return {s.name: s.timing for s in self.specs}

    @property
    def configs(self) -> tuple[SourceConfig, ...]:
        """The mappings, in file order."""
        return tuple(s.config for s in self.specs)

    def get(self, name: str) -> SourceSpec:
        """The source called ``name``; ``KeyError`` listing the configured names otherwise."""
        for s in self.specs:
            if s.name == name:
                return s
        raise KeyError(Message(N_("{file} 中没有数据源 {name}；已配置：{names}"), name=repr(name), file=self.path,
                               names=", ".join(self.names)))


def _walk_line(raw: Any, loc: tuple[Any, ...]) -> int:
    """The line of the deepest node of ``loc`` present in the parsed YAML."""
    node, line = raw, line_of(raw, 1)
    for step in loc:
        in_map = isinstance(node, dict) and step in node
        if in_map or (isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)):
            line, node = key_line(node, step, line), node[step]
        else:
            break
    return line


def _substitute(text: str, values: dict[str, str], file: Path, line: int, out: list[SourceFileError]) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            known = ", ".join(f"${{{k}}}" for k in sorted(values))
            out.append(SourceFileError(file, line, Message(N_("未知的占位符 {placeholder}；已知：{known}"),
                                                           placeholder=f"${{{m.group(1)}}}", known=known)))
            return m.group(0)
        return values[m.group(1)]

    return _PLACEHOLDER.sub(repl, text)


def _lookup(model: SourceModel, base: Path, line: int, errors: list[SourceFileError]) -> dict[str, str] | None:
    if model.region.lookup_file is None:
        return dict(model.region.lookup) if model.region.lookup is not None else None
    path = base / model.region.lookup_file
    try:
        data = load_yaml(path.read_bytes()) if path.stat().st_size < 900_000 else None
    except (OSError, YamlError) as exc:
        errors.append(SourceFileError(path, getattr(exc, "line", 0) or line,
                                      Message(N_("无法读取地区对照表：{reason}"), reason=str(exc))))
        return None
    if data is None:  # too big for the safe loader's bound: a plain safe load of a generated table
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    table = data.get("lookup") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        errors.append(SourceFileError(path, 1, Message(N_("地区对照表文件须有顶层的 'lookup' 映射"))))
        return None
    try:
        return {str(k): validate_code(str(v)) for k, v in table.items()}
    except RegionCodeError as exc:
        errors.append(SourceFileError(path, 1, Message(N_("地区对照表：{reason}"), reason=message_of(exc) or str(exc))))
        return None


def _check_kind(model: SourceModel, kinds: RecordKinds) -> list[str]:
    """Problems of the mapping against the record kind's declared fields."""
    try:
        spec = kinds.get(model.kind)
    except KeyError as exc:
        return [exc.args[0] if isinstance(exc.args[0], str) else str(exc.args[0])]  # a Message stays one
    own = set(spec.fields)
    problems: list[str] = []
    for where, names in (
        ("fields", model.fields.values()),
        ("constants", model.constants),
        ("value_maps", model.value_maps),
        ("required", model.required),
        ("free_text", model.free_text),
    ):
        bad = sorted(set(names) - own)
        if bad:
            problems.append(Message(N_("{where}：{kind} 记录没有字段 {bad}；已知：{known}"), where=where,
                                    kind=model.kind, bad=", ".join(bad), known=", ".join(sorted(own))))
    return problems


def _spec(model: SourceModel, defaults: Any, values: dict[str, str], base: Path, line: int,
          errors: list[SourceFileError], file: Path) -> SourceSpec:
    lookup = _lookup(model, base, line, errors)
    cfg = SourceConfig(
        name=model.name,
        kind=model.kind,
        path=model.path or "",
        fields=dict(model.fields),
        id_field=model.id,
        at_field=model.at.field,
        region_field=model.region.field,
        required=tuple(model.required),
        free_text=tuple(model.free_text),
        personal_raw=tuple(model.personal),
        constants=dict(model.constants),
        value_maps={k: dict(v) for k, v in model.value_maps.items()},
        at_format=model.at.format,
        timezone=model.at.timezone or defaults.timezone,
        region_fields=tuple(model.region.fields or ()),
        region_lookup=lookup,
    )

    def sub(text: str) -> str:
        return _substitute(text, values, file, line, errors)

    auth = model.auth
    if auth.token_url:
        auth = auth.model_copy(update={"token_url": sub(auth.token_url)})
    if model.care_register is not None:
        return SourceSpec(cfg, "register", line=line, timing=model.timing(),
                          first_run=parse_span(model.care_register.first_run))
    if model.filedrop is None and model.path is None:
        return SourceSpec(cfg, "push", "", auth, model.pagination, line=line, timing=model.timing(),
                          push_token=model.push_token)
    if model.filedrop is None:
        return SourceSpec(cfg, "rest", sub(model.base_url or defaults.base_url), auth, model.pagination, line=line,
                          timing=model.timing(), push_token=model.push_token)
    fd = model.filedrop
    folder = Path(sub(fd.folder))
    folder = (folder if folder.is_absolute() else base / folder).resolve()
    return SourceSpec(cfg, "filedrop", "", auth, model.pagination, folder,
                      fd.format, fd.pattern, fd.encoding, fd.delimiter, line, model.timing(), model.push_token)


def load_sources(path: Path, *, settings: Settings | None = None, kinds: RecordKinds | None = None) -> SourcesFile:
    """Parse and validate a sources file; :class:`SourcesFileError` lists every problem with its line."""
    settings = settings or Settings()
    try:
        raw = load_yaml(path.read_bytes())
    except OSError as exc:
        raise SourcesFileError([SourceFileError(path, 0, Message(N_("无法读取：{reason}"),
                                                                 reason=exc.strerror or str(exc)))]) from None
    except YamlError as exc:
        raise SourcesFileError([SourceFileError(path, exc.line, exc.message)]) from None
    errors: list[SourceFileError] = []
    try:
        model = SourcesFileModel.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(map(str, loc)) or "file"
            cause = err.get("ctx", {}).get("error")  # a validator's own ValueError, its Message kept
            msg: str = (message_of(cause) if isinstance(cause, BaseException) else None) \
                or error_message(err, field=str(loc[-1]) if loc else None)
            if err["type"] == "extra_forbidden":
                msg = Message(N_("未知的键 '{key}'"), key=loc[-1])
            elif err["type"] == "missing":
                msg = Message(N_("缺少键 '{key}'"), key=loc[-1])
            errors.append(SourceFileError(path, _walk_line(raw, loc), Message(N_("{where}：{message}"), where=where,
                                                                              message=msg)))
        raise SourcesFileError(errors) from None
    values = {"simulator_url": settings.simulator_url, "package_root": str(PACKAGE_ROOT),
              "home": str(settings.home)}
    specs: list[SourceSpec] = []
    seen: dict[str, int] = {}
    for i, src in enumerate(model.sources):
        line = _walk_line(raw, ("sources", i))
        if src.name in seen:
            first = seen[src.name]
            errors.append(SourceFileError(path, line, Message(N_("数据源名称 '{name}' 重复（首次出现在第 {first} 行）"),
                                                              name=src.name, first=first)))
        seen.setdefault(src.name, line)
        if kinds is not None:
            errors.extend(SourceFileError(path, line, Message(N_("{name}：{problem}"), name=src.name, problem=p))
                          for p in _check_kind(src, kinds))
        specs.append(_spec(src, model.defaults, values, path.parent, line, errors, path))
    if errors:
        raise SourcesFileError(errors)
    return SourcesFile(path, tuple(specs))


# Only the mappings are kept, so the defaults (not the environment) fill the placeholders here.
DEPARTMENTS: tuple[SourceConfig, ...] = tuple(
    s.config for s in load_sources(DEFAULT_SOURCES_FILE, settings=Settings.model_construct()).specs
    if s.transport != "register")
"""The simulator's departments, as the packaged sources.yaml maps them (not the register: it is ours)."""
