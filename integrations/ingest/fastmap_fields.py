"""The field block of a compiled mapping, written out as Python for one source.

:class:`~integrations.ingest.fastmap.CompiledMapping` takes every item through the source's mapped
fields. A loop over a table of them spends most of its time unpacking each field's entry and testing
settings that are fixed for the source (has it a value map? is it personal? free text?). Here the
loop is unrolled once per source into a function holding only the tests its fields need, each field's
names as constants — as :mod:`dataclasses` writes ``__init__``. The generated text depends only on
the configuration's shape; every value (names included) reaches it as a ``repr`` literal or a bound
object, never as code. What it computes is the loop's, test for test (``tests/integrations/
test_fastmap.py`` compares the compiled mapping with the reference on generated items and configs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from domain.kinds import DEFAULT_MAX_LENGTH
from domain.privacy import mask_value, pseudonymise_value
from integrations.ingest.twins import text_check

__all__ = ["FieldSpec", "field_filler"]

FieldSpec = tuple[str, str, Any, Any, Any, Any, bool, bool]
"""(department field, record field, value map, field spec, exact type kept as is, allowed values,
personal, free text): one mapped field, as ``CompiledMapping`` resolves it."""


def field_filler(
    fields: Sequence[FieldSpec],
    constants: Sequence[tuple[str, Any]],
    required: Sequence[str],
    *,
    key: bytes,
    pseudonym_of: Callable[[str], str],
    pseudonyms: dict[str, Any] | None,
    masked: dict[str, Any],
    cache_max: int,
) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """A function of a raw item returning its record attributes, or ``None`` when the item needs the
    reference mapping (a field that would not coerce, an unmapped type, a required field missing).

    ``pseudonyms`` and ``masked`` are caches it fills (emptied when ``cache_max`` is reached);
    ``pseudonyms=None``: no cache, ``pseudonym_of`` every time (the C one costs less than a cache miss).
    """
    env: dict[str, Any] = {
        "_key": key,
        "_pseudonym_of": pseudonym_of,
        "_pseudonymise_value": pseudonymise_value,
        "_mask_value": mask_value,
        "_pseudonyms": pseudonyms,
        "_masked": masked,
        "_MAX": cache_max,
        "_text_refused": text_check(),  # domain.kinds.has_bad_text, in C where built
    }
    # "First wins" needs the test only when two department fields feed one record field.
    shared = len({f[1] for f in fields}) < len(fields)
    lines = ["def fill(raw):", "    get = raw.get", "    attrs = {}"]
    for i, (src, dst, vmap, spec, as_is, values, personal, free) in enumerate(fields):
        lines += [
            f"    v = get({src!r})",
            "    if v is not None and v != ''" + (f" and {dst!r} not in attrs:" if shared else ":"),
        ]
        if vmap is not None:
            env[f"_vmap{i}"] = vmap
            lines += [
                "        if isinstance(v, (str, int, float, bool)):",
                "            s = str(v)",
                f"            if s in _vmap{i}:",
                f"                v = _vmap{i}[s]",
            ]
        if spec is None:  # an unmapped record field: the reference refuses the item and says why
            lines += ["        return None"]
            continue
        env[f"_coerce{i}"] = spec.coerce
        coerce = [
            "        try:",
            f"            v = _coerce{i}(v)",
            "        except ValueError:",
            "            return None",
        ]
        if as_is is None:
            lines += coerce
        else:
            env[f"_type{i}"] = as_is
            lines += [f"        if type(v) is not _type{i}:", *("    " + c for c in coerce)]
            if values is not None:
                env[f"_values{i}"] = values
                lines += [f"        elif v not in _values{i}:", "            return None"]
            # The door's bounds and clean text (FieldSpec._check), for values coerce was not asked about.
            if as_is is str:
                env[f"_maxlen{i}"] = spec.max_length if spec.max_length is not None else DEFAULT_MAX_LENGTH
                lines += [f"        elif len(v) > _maxlen{i} or _text_refused(v):", "            return None"]
            else:
                env[f"_lo{i}"], env[f"_hi{i}"] = spec.bounds()
                lines += [f"        elif not (_lo{i} <= v <= _hi{i}):", "            return None"]
        if personal and pseudonyms is None:
            lines += [
                "        if type(v) is str:",
                "            v = _pseudonym_of(v)",
                "        else:",
                "            v = _pseudonymise_value(v, _key)",
            ]
        elif personal or free:
            # People and texts recur: a dict hit costs far less than an HMAC or the mask regexes.
            cache, make = ("_pseudonyms", "_pseudonym_of(v)") if personal else ("_masked", "_mask_value(v)")
            other = "_pseudonymise_value(v, _key)" if personal else "_mask_value(v)"
            lines += [
                "        if type(v) is str:",
                f"            o = {cache}.get(v)",
                "            if o is None:",
                f"                o = {make}",
                f"                if len({cache}) >= _MAX:",
                f"                    {cache}.clear()",
                f"                {cache}[v] = o",
                "            v = o",
                "        else:",
                f"            v = {other}",
            ]
        lines += [f"        attrs[{dst!r}] = v"]
    for j, (name, value) in enumerate(constants):
        env[f"_const{j}"] = value
        lines += [f"    if {name!r} not in attrs:", f"        attrs[{name!r}] = _const{j}"]
    for name in required:
        lines += [f"    if {name!r} not in attrs:", "        return None"]
    lines += ["    return attrs"]
    exec(compile("\n".join(lines), "<fenghuo field filler>", "exec"), env)  # nosec B102  # the text is generated here from the source's shape; every value is a repr or a bound name
    fill: Callable[[dict[str, Any]], dict[str, Any] | None] = env["fill"]
    return fill
