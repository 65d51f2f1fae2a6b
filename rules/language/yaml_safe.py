"""Safe YAML for rule files: positions kept, duplicate keys and foreign tags rejected.

Loading never executes code: the loader derives from :class:`yaml.SafeLoader` (which has no Python
object constructors at all) and further refuses any tag outside YAML's plain core types, anchors and
aliases (they make one edit change many places, and aliases can blow up the canonical form), and
duplicate keys in one mapping (YAML would silently keep the last one).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from domain.messages import N_, Message, reworded
from rules.language.positions import LineList, LineMap

MAX_BYTES = 1_000_000
"""Largest rule or data file accepted; rule files are small, a huge one is a mistake or an attack."""
MAX_DEPTH = 100
"""Deepest nesting of maps and lists accepted: parsing (and every check after it) recurses per level, and
thousands of levels would exhaust Python's stack. Conditions have their own, lower limit."""
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_ALLOWED_TAGS = frozenset(
    "tag:yaml.org,2002:" + t for t in ("null", "bool", "int", "float", "str", "timestamp", "seq", "map")
)


class YamlError(ValueError):
    """A file is not acceptable YAML; ``line`` is 1-based (0 when unknown)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class PositionLoader(yaml.SafeLoader):
    """A SafeLoader that builds :class:`LineMap`/:class:`LineList` and refuses what rule files need not."""

    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Refuse aliases (``*name``), anchors (``&name``) and nesting deeper than :data:`MAX_DEPTH`."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = int(event.start_mark.line) + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent):
            raise YamlError(Message(N_("规则文件中不允许别名（*name）")), line)
        if getattr(event, "anchor", None) is not None:
            raise YamlError(Message(N_("规则文件中不允许锚点（&name）")), line)
        if self.depth >= MAX_DEPTH:
            raise YamlError(Message(N_("映射和列表嵌套超过 {limit} 层；请简化文件"), limit=MAX_DEPTH), line)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """Refuse every tag but YAML's plain types (so ``!!python/...`` and custom tags are errors)."""
        if node.tag not in _ALLOWED_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise YamlError(Message(N_("不允许标签 '{tag}'；规则文件只含普通数据"), tag=tag), _line(node))
        return super().construct_object(node, deep=deep)

    def construct_yaml_map(self, node: MappingNode) -> Any:
        """Build a :class:`LineMap`, rejecting a key that appears twice."""
        data = LineMap()
        data.line = _line(node)
        yield data
        if any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value):
            raise YamlError(Message(N_("规则文件中不允许合并键（<<）")), _line(node))
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise YamlError(Message(N_("映射的键须为普通值，得到 {key}"), key=repr(key)), _line(key_node))
            if key in data:
                first = data.key_lines[key]
                raise YamlError(Message(N_("键 '{key}' 重复（首次出现在第 {line} 行）"),
                                        key=key, line=first), _line(key_node))
            data[key] = self.construct_object(value_node, deep=True)
            data.key_lines[key] = _line(key_node)

    def construct_yaml_seq(self, node: SequenceNode) -> Any:
        """Build a :class:`LineList` that knows each item's line."""
        data = LineList()
        data.line = _line(node)
        yield data
        for item in node.value:
            data.append(self.construct_object(item, deep=True))
            data.item_lines.append(_line(item))


PositionLoader.add_constructor("tag:yaml.org,2002:map", PositionLoader.construct_yaml_map)
PositionLoader.add_constructor("tag:yaml.org,2002:seq", PositionLoader.construct_yaml_seq)


def too_large() -> Message:
    """The refusal of a file over :data:`MAX_BYTES`."""
    return Message(N_("文件大于 {limit} 字节"), limit=MAX_BYTES)


def check_text(text: str) -> None:
    """Refuse control characters (NUL and the like; tab and line ends are fine) with their line."""
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise YamlError(Message(N_("规则文件中不允许控制字符 {char}；请删除"), char=f"U+{ord(bad.group()):04X}"), line)


def load_yaml(text: str | bytes) -> Any:
    """Parse one YAML document with positions; :class:`YamlError` with a line for anything wrong."""
    if len(text) > MAX_BYTES:
        raise YamlError(too_large(), 1)
    if isinstance(text, str):
        check_text(text)
    try:  # the reader checks the characters as it is made
        loader = PositionLoader(text)
    except yaml.reader.ReaderError as exc:
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        line = text[: exc.position].count("\n" if isinstance(text, str) else b"\n") + 1  # type: ignore[arg-type]
        raise YamlError(Message(N_("规则文件中不允许字符 {char}；请删除"), char=f"U+{char:04X}"), line) from None
    try:
        node = loader.get_single_node()  # a second document is a ComposerError, reported as malformed
        if node is None:
            return None
        return loader.construct_document(node)
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 0
        problem = exc.problem or str(exc)
        if problem.startswith("but") and exc.context:
            problem = f"{exc.context} {problem}"
        raise YamlError(Message(N_("YAML 格式错误：{problem}"), problem=yaml_reason(problem)), line) from None
    except yaml.YAMLError as exc:
        raise YamlError(Message(N_("YAML 格式错误：{problem}"), problem=str(exc)), 0) from None
    finally:
        loader.dispose()



_REASONS = (
    ("found character '\\t'", N_("不能用 Tab 缩进或对齐，请改用空格")),
    ("expected ',' or '}'", N_("花括号 {…} 没有闭合，或其中两项之间缺少逗号")),
    ("expected ',' or ']'", N_("方括号 […] 没有闭合，或其中两项之间缺少逗号")),
    ("mapping values are not allowed here", N_("此处不能有冒号：值里有冒号时，请给整个值加引号")),
    ("found unexpected end of stream", N_("引号没有闭合")),
    ("expected <block end>", N_("缩进不一致：同一层的键或列表项须左对齐")),
    ("could not find expected ':'", N_("缺少冒号：每行应写成“键: 值”")),
    ("expected a single document", N_("一个文件只能有一个 YAML 文档（多了 ---）")),
    ("found undefined alias", N_("引用了未定义的锚点（*名称）")),
)
"""PyYAML's problems a rule author causes (how each starts) and what each means, in their words."""


def yaml_reason(problem: str) -> str:
    """PyYAML's ``problem`` said in Chinese (a :class:`~domain.messages.Message`); one it does not know as it is."""
    return reworded(problem, _REASONS)
