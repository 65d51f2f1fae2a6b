"""The workspace's value tables: a warning's level, status, routing tier and channel, the timeline's events and
routing steps, each value by its Chinese name (a msgid; :mod:`integrations.labels` renders it).

Kept apart from :mod:`integrations.workspace.present` so that the command line (a backtest's level names) reads
them without importing the store and the web layer.
"""

from __future__ import annotations

from domain.regions import Tier
from integrations.i18n import N_

__all__ = ["CHANNEL_CN", "EVENT_CN", "LEVEL_CN", "LEVEL_ORDER", "ROUTED_CN", "STATUS_CN", "TIER_CN"]

LEVEL_CN = {"red": N_("红"), "orange": N_("橙"), "yellow": N_("黄"), "blue": N_("蓝")}
"""The level as responders say it (红色预警…)."""
LEVEL_ORDER = ("red", "orange", "yellow", "blue")
STATUS_CN = {"open": N_("开放（待签收）"), "acknowledged": N_("已签收"), "resolved": N_("已办结"),
             "stale": N_("可办结（久无新情况）")}
TIER_CN = {**{t.value: t.label for t in Tier}, "leadership": N_("市值班领导")}
CHANNEL_CN = {"file": N_("系统消息"), "webhook": N_("接口推送"), "email": N_("电子邮件"), "wecom": N_("企业微信"),
              "dingtalk": N_("钉钉"), "feishu": N_("飞书"), "sms": N_("短信")}
EVENT_CN = {
    "opened": N_("预警生成"), "raised": N_("等级上调"), "acknowledged": N_("签收"), "resolved": N_("办结"),
    "comment": N_("批注"), "refused": N_("越权操作被拒绝"), "resolve-overdue": N_("超过办结期限"),
    "ack-reset": N_("签收期限重新计算"), "link_refused": N_("一键链接被拒绝"),
    "silenced": N_("通知静默（暂不发送）"), "silence-released": N_("静默结束，补发通知"),
    "silence-not-needed": N_("静默期间已办结，不再补发"), "inhibited": N_("通知暂缓（由聚集预警统一通知）"),
    "stale": N_("久无新情况，可办结"), "active-again": N_("再次发生，恢复处置"),
    "task-created": N_("派发网格任务"), "task-accepted": N_("任务接单"), "task-done": N_("任务办结"),
    "task-overdue": N_("任务超期"), "task-refused": N_("任务操作被拒绝"), "task-proposal": N_("网格任务建议办结"),
    "handed-over": N_("移交给下级"),
}
ROUTED_CN = {"handover": N_("移交后通知新的负责节点"),
              "opened": N_("分派"), "raised": N_("升级后再次分派"), "escalated": N_("逾期未签收，逐级上报"),
              "reminder": N_("逾期未签收，提醒"), "overdue": N_("超过办结期限，通报"),
              "repeat": N_("持续发生，再次通知"), "stale": N_("久无新情况，提示可办结")}
