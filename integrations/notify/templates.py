"""Message layouts as data: every notification's text comes from a Jinja2 template, rendered in a sandbox.

The layouts ship in ``integrations/data/templates`` (:data:`SHIPPED`): ``<step>.j2`` for every channel and
``<channel>/<step>.j2`` for one channel (preferred), ``<step>`` one of :data:`STEPS`; files whose name
starts with ``_`` are shared parts (``{% include "_warning.j2" %}``). English layouts sit the same way
under ``en/``. An operator's folder (``FENGHUO_TEMPLATES``) is searched first, file by file: a file there
replaces the shipped one of the same path, any other falls back to the shipped one. With ``lang`` ``en``
the ``en/`` files are preferred, then the Chinese ones.

The first line rendered is the subject, the rest the body; both are masked (``domain.privacy.mask``).
Templates run in ``jinja2.sandbox.SandboxedEnvironment`` with strict undefined names and are checked when
loaded — syntax, unknown step or channel folder, unknown names and sandbox violations (a trial render
against a sample warning) — each problem one line ``FILE:LINE: message``. Loaded templates are compiled
once and kept (:func:`templates_for`) until a file changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
)
from jinja2.sandbox import SandboxedEnvironment

from domain.privacy import mask
from integrations.i18n import _
from integrations.notify.message_context import Rendered, sample_context
from integrations.settings import Settings, get_settings

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "templates"
"""The layouts that ship with Fenghuo (Chinese; English under ``en/``)."""

STEPS = ("open", "raise", "escalate", "remind", "overdue", "repeat", "stale", "digest", "resolve", "handover")
"""The steps a template lays out (``raise-orange`` is ``raise``, ``remind-2`` is ``remind``…)."""

CHANNELS = ("file", "console", "webhook", "email", "wecom", "dingtalk", "feishu", "lark")
"""Channel folders a template may sit in (the channels of ``integrations.notify.registry``)."""

LANGS = ("zh", "en")
"""Message languages: Chinese (the top folder) and English (``en/``)."""

Key = tuple[str, str | None, str]
"""(language, channel or None for every channel, step kind)."""


class TemplateFileError(ValueError):
    """Templates that cannot be used; the message is one ``FILE:LINE: message`` line per problem."""


@dataclass(frozen=True)
class MessageTemplates:
    """The loaded, compiled templates by (language, channel or None, step), and the language to use."""

    by_key: Mapping[Key, Template] = field(default_factory=dict)
    lang: str = "zh"
    fallback: MessageTemplates | None = None
    """The shipped templates alone, when an operator's folder is in front: a message its template cannot
    render at run time (a name empty for this warning only) is laid out by these instead of being lost."""

    def _order(self, channel: str | None, kind: str) -> Iterable[Key]:
        langs = ("en", "zh") if self.lang == "en" else ("zh",)
        for lang in langs:
            if channel is not None:
                yield lang, channel, kind
            yield lang, None, kind

    def find(self, channel: str | None, step: str) -> Template:
        """The template for ``channel`` (None: every channel) and a step such as ``remind-2``: the
        channel's own in the preferred language, else the one for every channel, then the same in Chinese."""
        kind = step.split("-")[0]
        for key in self._order(channel, kind):
            if key in self.by_key:
                return self.by_key[key]
        raise KeyError(f"no template for step {kind!r}")

    def has_own(self, channel: str, step: str) -> bool:
        """True if ``channel`` is laid out by a template of its own for ``step`` (not the common one)."""
        return self.find(channel, step) is not self.find(None, step)

    def render(self, channel: str | None, step: str, context: Mapping[str, Any]) -> Rendered:
        """Render ``step`` for ``channel`` with ``context`` (:mod:`integrations.notify.message_context`);
        an operator's template failing on this context gives way to the shipped one (logged)."""
        template = self.find(channel, step)
        try:
            return render_with(template, context)
        except Exception as exc:
            # Any error (a template can call methods: TypeError, ZeroDivisionError…), so that an
            # operator's slip never loses a notification while the shipped layout can still render it.
            if self.fallback is None:
                raise
            file, line = _where(exc.__traceback__, template.filename or "?")
            log.warning(_("{file}:{line}: 模板渲染失败，改用自带模板：{error}").format(file=file, line=line, error=exc))
            return self.fallback.render(channel, step, context)


def _split(rel: Path) -> tuple[str, str | None, str] | str:
    """(language, channel, step kind) of a template path, or why the path is not one."""
    parts = list(rel.parts)
    lang = parts.pop(0) if len(parts) > 1 and parts[0] in LANGS[1:] else "zh"
    kind = rel.stem
    if len(parts) > 2:
        return _("文件夹层次过深")
    channel = parts[0] if len(parts) == 2 else None
    if channel is not None and channel not in CHANNELS:
        return _("未知的渠道文件夹 {channel}（可用：{known}）").format(channel=channel, known=_("、").join(CHANNELS))
    if kind not in STEPS:
        return _("未知的通知环节 {kind}（可用：{known}）").format(kind=kind, known=_("、").join(STEPS))
    return lang, channel, kind


def _where(tb: TracebackType | None, fallback: str) -> tuple[str, int]:
    """The template file and line a render error came from (Jinja puts template frames in the traceback,
    with template line numbers); the innermost one, so an error inside an included part names that part."""
    where = (fallback, 1)
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            where = (name, tb.tb_lineno)
        tb = tb.tb_next
    return where


def _environment(folders: list[Path]) -> SandboxedEnvironment:
    # trim_blocks/lstrip_blocks: a line holding only a tag leaves no blank line, so layouts read as text.
    return SandboxedEnvironment(loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
                                undefined=StrictUndefined, autoescape=False, trim_blocks=True,
                                lstrip_blocks=True, keep_trailing_newline=False)


def load_templates(folder: Path | None = None, lang: str = "zh") -> MessageTemplates:
    """Load, compile and check the shipped templates and, file by file before them, those of an operator's
    ``folder`` (None: the shipped ones only); render in ``lang`` (``zh`` or ``en``).

    Raises :class:`TemplateFileError` listing every problem, one ``FILE:LINE: message`` line each.
    """
    if lang not in LANGS:
        raise TemplateFileError(_("{folder}:1: 未知的语言 {lang}（可用：{known}）").format(
            folder=folder or SHIPPED, lang=lang, known=_("、").join(LANGS)))
    folders = [SHIPPED]
    if folder is not None and folder.resolve() != SHIPPED:
        if not folder.is_dir():
            raise TemplateFileError(_(
                "{folder}:1: 模板文件夹不存在；请检查 FENGHUO_TEMPLATES，或不设它以使用自带模板").format(folder=folder))
        folders.insert(0, folder)
    env = _environment(folders)
    names = sorted({p.relative_to(f).as_posix() for f in folders for p in f.rglob("*.j2")})
    found: dict[Key, Template] = {}
    errors: list[str] = []
    for name in names:
        source = next(str(f / name) for f in folders if (f / name).is_file())
        # A shared part (``_*.j2``) has no key: compiled here, trial-rendered through the steps that use it.
        key = None if Path(name).name.startswith("_") else _split(Path(name))
        if isinstance(key, str):
            errors.append(_("{file}:1: {problem}；模板应为 <环节>.j2、<渠道>/<环节>.j2 或 en/ 下的同样路径").format(
                file=source, problem=key))
            continue
        try:
            template = env.get_template(name)
            if key is None:
                continue
            template.render(**sample_context(key[2]))
        except TemplateSyntaxError as exc:
            errors.append(_("{file}:{line}: 模板语法错误：{error}").format(
                file=exc.filename or source, line=exc.lineno, error=exc.message))
            continue
        except TemplateNotFound as exc:
            file, line = _where(exc.__traceback__, source)
            errors.append(_("{file}:{line}: 找不到被引用的模板 {name}").format(file=file, line=line, name=exc.name))
            continue
        except Exception as exc:  # TemplateError, or a Python error raised by what the template calls
            file, line = _where(exc.__traceback__, source)
            errors.append(_("{file}:{line}: 模板无法渲染（{type}）：{error}").format(
                file=file, line=line, type=type(exc).__name__, error=exc))
            continue
        found[key] = template
    missing = [k for k in STEPS if ("zh", None, k) not in found]
    if missing and not errors:
        errors.append(_("{folder}:1: 缺少自带模板 {steps}（安装不完整）").format(
            folder=SHIPPED, steps=_("、").join(missing)))
    if errors:
        raise TemplateFileError("\n".join(dict.fromkeys(errors)))
    return MessageTemplates(found, lang, load_templates(None, lang) if len(folders) > 1 else None)


def _stamp(folder: Path | None) -> tuple[tuple[str, int], ...]:
    """Every template file's path and modification time: a changed or added file means load again."""
    folders = [SHIPPED] + ([folder] if folder is not None and folder.is_dir() else [])
    return tuple((str(p), p.stat().st_mtime_ns) for f in folders for p in sorted(f.rglob("*.j2")))


@lru_cache(maxsize=8)
def _cached(folder: Path | None, lang: str, stamp: tuple[tuple[str, int], ...]) -> MessageTemplates:
    return load_templates(folder, lang)


RECHECK_S = 1.0
"""How often (seconds) :func:`templates_for` looks whether a template file changed: a ``stat`` of every
file costs more than a render, so a busy routing loop looks at most this often."""
_checked: dict[tuple[Path | None, str], tuple[float, tuple[tuple[str, int], ...]]] = {}


def templates_for(settings: Settings) -> MessageTemplates:
    """The templates the settings name — the shipped ones, the operator's ``templates_dir`` before them —
    in ``lang``; compiled once and reused until a template file changes (looked at every
    :data:`RECHECK_S` seconds at most)."""
    key = (settings.templates_dir, settings.lang)
    now = time.monotonic()
    seen = _checked.get(key)
    if seen is None or now - seen[0] >= RECHECK_S:
        seen = _checked[key] = (now, _stamp(settings.templates_dir))
    return _cached(*key, seen[1])


def default_templates() -> MessageTemplates:
    """:func:`templates_for` the current settings (for callers given no templates)."""
    return templates_for(get_settings())


def render_with(template: Template, context: Mapping[str, Any]) -> Rendered:
    """Render: the first line is the subject, the rest the body; both masked."""
    text = template.render(**context)
    subject, _, body = text.strip("\n").partition("\n")
    return Rendered(subject=mask(subject.strip()), body=mask(body.strip("\n")))
