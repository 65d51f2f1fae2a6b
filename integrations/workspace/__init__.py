"""The responders' web workspace: log in, see the warnings of one's own jurisdiction, act on them.

Server-rendered pages in Chinese, usable on a phone (:mod:`integrations.workspace.router`), mounted by
:func:`integrations.actions_api.create_app` beside the one-click links.

The package itself imports nothing: the value tables of :mod:`integrations.workspace.present` are read by
the command line (a backtest's level names), which must not pay for the web layer it never serves.
"""
