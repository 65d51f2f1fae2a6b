"""The responders' web workspace: log in, see the warnings of one's own jurisdiction, act on them.

Server-rendered pages in Chinese, usable on a phone (:mod:`integrations.workspace.router`), mounted by
:func:`integrations.actions_api.create_app` beside the one-click links.
"""

from integrations.workspace.router import workspace_router

__all__ = ["workspace_router"]
