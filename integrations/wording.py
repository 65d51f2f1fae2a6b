"""Stored texts in the language in force: audit reasons, quarantine reasons and other texts the store
wrote (in Chinese, or as a short code) and officials read later.

The store knows no language (it may not read settings): what it writes is the Chinese text of a
:class:`domain.messages.Message` — a catalogue msgid filled with its parameters — or, for a few older
entries, a stable code such as ``raised to red`` or ``silence 3``. :func:`worded` turns either back into
words when the text is shown: a code through its own template; a Chinese text by finding the msgid whose
fixed parts it matches and filling the translated msgid with the parameters read back (each worded too,
so a Message inside a Message is translated as well). A text no template explains (a note someone typed,
a rule author's title) is shown as it is. So rows written before a text was marked still display, and
changing ``FENGHUO_LANG`` changes how every stored text reads, not only the ones written afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from babel.messages.pofile import read_po

from domain.beijing import BEIJING
from domain.messages import N_, Message
from integrations.i18n import SOURCE_LANGUAGE, _, catalogue_path, language, translate
from integrations.labels import label, step_label
from integrations.settings import Language

_FIELD = re.compile(r"\{(\w+)(?:![rsa])?(?::[^{}]*)?\}")
_MAX_DEPTH = 4
"""How deep parameters are worded (a Message inside a Message inside …)."""


@dataclass(frozen=True)
class _Template:
    """A msgid with parameters, as a pattern its filled text matches."""

    msgid: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    """The fields in order of first appearance; the pattern's groups are ``f0``, ``f1`` … in that order."""
    longest: str
    """Its longest fixed part: a text without it cannot match (a cheap test before the pattern)."""


def _plain(template: str) -> str:
    """``template`` with each field's conversion and format dropped: the parameters read back are text already."""
    return _FIELD.sub(lambda m: "{" + m[1] + "}", template)


def _compile(msgid: str) -> _Template | None:
    names = [m[1] for m in _FIELD.finditer(msgid)]
    fixed = _FIELD.split(msgid)[::2]
    literal = "".join(fixed)
    if not names or len(literal.strip()) < 2 or "{{" in msgid:
        return None  # no parameters (an exact msgid), or nothing fixed to recognise it by
    pattern, groups = "", dict[str, str]()  # a field's group is named by its place (a field may be named "0")
    for index, part in enumerate(_FIELD.split(msgid)):  # fixed text and field names, alternately
        if index % 2 == 0:
            pattern += re.escape(part)
        elif part in groups:
            pattern += f"(?P={groups[part]})"
        else:
            groups[part] = f"f{len(groups)}"
            pattern += f"(?P<{groups[part]}>.*?)"
    return _Template(msgid, re.compile(rf"\A{pattern}\Z", re.DOTALL), tuple(groups), max(fixed, key=len))


@lru_cache(maxsize=4)
def _catalogue(lang: Language) -> tuple[frozenset[str], tuple[_Template, ...]]:
    """The msgids of ``lang``'s catalogue: the exact ones, and those with parameters as patterns (the most
    specific, i.e. the longest fixed text, first)."""
    with catalogue_path(lang).open("rb") as po:
        catalog = read_po(po, locale=lang)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    templates = [t for t in map(_compile, ids) if t is not None]
    templates.sort(key=lambda t: len("".join(_FIELD.split(t.msgid)[::2])), reverse=True)
    return frozenset(ids), tuple(templates)


def _beijing(iso: str) -> str:
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return _("{time}（北京时间）").format(time=f"{at.astimezone(BEIJING):%Y-%m-%d %H:%M}")


_CODES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], int], str]], ...] = (
    (re.compile(r"\Araised to (?P<level>[a-z]+)\Z"),
     lambda m, d: _(N_("等级上调为{level}")).format(level=label("level_name", m["level"]))),
    (re.compile(r"\Asilence (?P<id>\d+)\Z"), lambda m, d: _(N_("静默 #{id}")).format(id=m["id"])),
    (re.compile(r"\Anot resolved by (?P<at>\S+)\Z"),
     lambda m, d: _(N_("{time}前未办结")).format(time=_beijing(m["at"]))),
    (re.compile(r"\Areplayed (?P<at>\S+): (?P<reason>.*)\Z", re.DOTALL),
     lambda m, d: _(N_("{time}重放，仍无效：{reason}")).format(time=_beijing(m["at"]),
                                                          reason=_worded(m["reason"], d + 1))),
    (re.compile(r"\A(?P<kind>\S+) → (?P<region>\d+)\Z"),  # a task's kind and grid: too little fixed text for a template
     lambda m, d: _(N_("{kind} → {region}")).format(kind=_worded(m["kind"], d + 1), region=m["region"])),
    (re.compile(r"\A研判 evaluation: (?P<error>.*)\Z", re.DOTALL),
     lambda m, d: _(N_("研判出错：{error}")).format(error=_worded(m["error"], d + 1))),
)
"""The stable codes the store writes (and wrote before its texts were Messages), each with its wording."""


def worded(text: str) -> str:
    """The stored ``text`` in the language in force (see the module's docstring); unknown text unchanged.
    A :class:`~domain.messages.Message` not yet stored is translated from its own template."""
    return translate(text) if isinstance(text, Message) else _worded(text, 0)


def _worded(text: str, depth: int) -> str:
    if not text or depth > _MAX_DEPTH:
        return text
    for code, word in _CODES:
        if found := code.match(text):
            return word(found, depth)
    lang = language()
    if lang == SOURCE_LANGUAGE:
        return text  # the store writes Chinese: nothing to do
    exact, templates = _catalogue(lang)
    if text in exact:
        return _(text)
    for template in templates:
        if template.longest not in text or (found := template.pattern.match(text)) is None:
            continue
        params = {name: _worded(found[f"f{n}"], depth + 1) for n, name in enumerate(template.names)}
        try:
            return _plain(_(template.msgid)).format_map(params)
        except (IndexError, KeyError, ValueError):  # a positional field ({0}) or a stray brace: shown as stored
            return text
    return text


def audit_reason(action: str, reason: str) -> str:
    """An audit row's reason as shown: a routing step's name for ``routed`` rows, else :func:`worded`."""
    return step_label(reason) if action == "routed" else worded(reason)


def audit_action(action: str) -> str:
    """An audit row's action (``acknowledged``, ``task-done`` …) by its name in the language in force."""
    return label("event", action)
