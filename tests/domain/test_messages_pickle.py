"""A Message survives pickling whole: text, template and parameters, nested messages included (a sharded
backtest ships every explanation from its shard's process)."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from domain.messages import N_, Message, joined


@given(st.text(max_size=20), st.integers(), st.text(max_size=10))
def test_a_pickled_message_is_the_same_message(name: str, n: int, tail: str) -> None:
    inner = Message(N_("字段 {name} 无效"), name=name)
    outer = Message(N_("第 {n} 行：{why}{tail}"), n=n, why=inner, tail=tail)
    for m in (outer, joined([outer, inner], Message(N_("；"))), Message(N_("没有参数"))):
        back = pickle.loads(pickle.dumps(m, pickle.HIGHEST_PROTOCOL))
        assert type(back) is Message and back == m and str(back) == str(m)
        assert back.template == m.template and back.params == m.params
        assert [type(v) for v in back.params.values()] == [type(v) for v in m.params.values()]
