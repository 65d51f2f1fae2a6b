"""``fenghuo users …``: the web workspace's accounts (add, passwd, disable, list, feed-token, totp).

Passwords are never arguments (they would land in the shell history and in ``ps``): they are read
with a hidden prompt, or one line from standard input with ``--password-stdin`` for scripts.
These commands read and write the store directly; they never start Prefect.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from flows.console import console, err_console, fail, open_engine, print_json
from integrations.i18n import _, explain

app = typer.Typer(help=_("预警工作台账号：名录中每位责任人一个登录名。"), no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help=_("从标准输入读取密码（供脚本使用）"))]


def _actor() -> str:
    """Who ran the command, for the audit log (the shell user; the CLI has no login of its own)."""
    try:
        return f"cli:{getpass.getuser()}"[:100]
    except (KeyError, OSError):
        return "cli:unknown"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt(_("新密码"), hide_input=True)
    if typer.prompt(_("再输入一次"), hide_input=True) != first:
        fail(_("两次输入的密码不一致，未作修改。请重新运行命令。"))
    return str(first)


def _run(what: str, func: object, **kwargs: object) -> None:
    from integrations.store.db import session_scope
    from integrations.store.users import AccountError

    engine = open_engine()
    try:
        with session_scope(engine) as session:
            func(session=session, actor=_actor(), now=datetime.now(UTC), **kwargs)  # type: ignore[operator]
    except AccountError as exc:
        fail(explain(exc))
    console.print(what)


@app.command("add", help=_("为名录中的责任人创建账号（可见该责任人的辖区及下级）。"))
def add_cmd(
    username: Annotated[str, typer.Argument(help=_("登录名"))],
    responder: Annotated[str, typer.Option("--responder", help=_("responders.yaml 中的责任人 id"))],
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account for a responder of the directory (it sees that responder's region subtree)."""
    from domain.responders import ResponderDirectory
    from integrations.settings import get_settings
    from integrations.store.users import add_account

    directory = ResponderDirectory.load(get_settings().responders)
    _run(_("已创建用户 {username}（责任人 {responder}），已记入审计日志。").format(
        username=username, responder=responder), add_account, username=username,
         responder_id=responder, password=_password(password_stdin), directory=directory)


@app.command("passwd", help=_("设置新密码（也解除连续输错后的锁定）。"))
def passwd_cmd(
    username: Annotated[str, typer.Argument(help=_("登录名"))],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (also lifts a lock-out after failed logins)."""
    from integrations.store.users import set_password

    _run(_("已为 {username} 设置新密码。").format(username=username), set_password, username=username,
         password=_password(password_stdin))


@app.command("disable", help=_("停用账号：不能再登录，已登录的会话随即失效。"))
def disable_cmd(username: Annotated[str, typer.Argument(help=_("登录名"))]) -> None:
    """Disable an account: no more logins, and its open sessions stop working."""
    from integrations.store.users import disable_account

    _run(_("已停用用户 {username}。").format(username=username), disable_account, username=username)


@app.command("feed-token", help=_(
        "为用户本人辖区的 CAP/Atom 订阅生成个人令牌（只显示一次；替换上一个）。\n"
        "\n"
        "订阅阅读器以 Authorization: Bearer <token> 发送；放在网址中的令牌一律拒绝。"))
def feed_token_cmd(
    username: Annotated[str, typer.Argument(help=_("登录名"))],
    revoke: Annotated[bool, typer.Option("--revoke", help=_("吊销该用户的订阅令牌，不再签发"))] = False,
) -> None:
    """A personal token for the CAP/Atom feed of the user's own subtree (printed once; replaces the last one).

    Feed readers send it as ``Authorization: Bearer <token>``; tokens in URLs are refused."""
    from integrations.store.db import session_scope
    from integrations.store.users import AccountError, get_account
    from integrations.store.web_sessions import issue_feed_token, revoke_feed_tokens

    now = datetime.now(UTC)
    try:
        with session_scope(open_engine()) as session:
            row = get_account(session=session, username=username)
            if row is None:
                raise AccountError(_("没有用户 {username!r}：`fenghuo users list` 列出全部用户。").format(
                    username=username))
            if revoke:
                count = revoke_feed_tokens(session=session, username=username, actor=_actor(), now=now)
            elif row.disabled:
                raise AccountError(_("用户 {username!r} 已停用：先启用账号，或为在用的账号签发。").format(
                    username=username))
            else:
                token = issue_feed_token(session=session, username=username, actor=_actor(), now=now)
    except AccountError as exc:
        fail(explain(exc))
    if revoke:
        console.print(_("已吊销 {username} 的订阅令牌（{n} 个）。").format(username=username, n=count), highlight=False)
        return
    err_console.print(_("{username} 的订阅令牌（只显示这一次，之前的令牌已失效）：").format(username=username),
                      highlight=False)
    sys.stdout.write(token + "\n")  # alone on stdout (the notes go to stderr): a script captures just the token
    err_console.print(_("订阅地址 /cap/feed.atom，请求头 Authorization: Bearer <令牌>；不要把令牌写进网址。"),
                  highlight=False)

@app.command("totp", help=_("为区县级或市级账号绑定（或重新绑定）TOTP 动态口令；otpauth:// 地址只显示一次。"))
def totp_cmd(
    username: Annotated[str, typer.Argument(help=_("登录名"))],
    disable: Annotated[bool, typer.Option("--disable", help=_("解除 TOTP 绑定（只用密码登录）"))] = False,
) -> None:
    """Bind (or re-bind) a TOTP authenticator to a district or city account; prints the otpauth:// URI once."""
    from domain.responders import ResponderDirectory
    from integrations.settings import get_settings
    from integrations.store.user_totp import disable_totp, enrol_totp
    from integrations.totp import SecretBox, new_secret, provisioning_uri

    if disable:
        _run(_("已停用 {username} 的动态口令，今后仅凭密码登录（已记入审计日志）。").format(username=username),
             disable_totp, username=username)
        return
    settings = get_settings()
    secret = new_secret()
    _run(_("已为 {username} 绑定动态口令（已记入审计日志，审计中不含密钥）。").format(username=username), enrol_totp,
         username=username,
         sealed=SecretBox(settings.totp_key).seal(secret), directory=ResponderDirectory.load(settings.responders))
    # Shown once, here only: the store keeps it sealed and no log has it.
    console.print(_("请用手机身份验证器（任一 TOTP 验证器）导入下面的链接，或手动输入密钥："), highlight=False)
    console.print(provisioning_uri(secret, username), highlight=False, soft_wrap=True)
    console.print(_("密钥（base32）：{secret}").format(secret=secret), highlight=False)
    console.print(_("下次登录时，输入密码后还需输入验证器上的 6 位动态口令。此密钥不会再次显示。"), highlight=False)


@app.command("list", help=_("全部账号：责任人、状态、最近登录（北京时间）。"))
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help=_("每行一条 JSON，供脚本使用"))] = False) -> None:
    """Every account: responder, state, last login (Beijing time)."""
    from sqlmodel import Session

    from domain.beijing import BEIJING
    from integrations.store.users import list_accounts

    engine = open_engine()
    with Session(engine) as session:
        rows = list_accounts(session=session)
    now = datetime.now(UTC)
    for row in rows:
        locked = row.locked_until is not None and row.locked_until > now
        state = "disabled" if row.disabled else "locked" if locked else "active"
        if as_json:
            print_json({"username": row.username, "responder": row.responder_id, "state": state,
                        "totp": row.totp_secret is not None,
                        "last_login_at": row.last_login_at, "locked_until": row.locked_until if locked else None})
            continue
        last = row.last_login_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if row.last_login_at else "—"
        totp = _("动态口令") if row.totp_secret else _("仅密码")
        console.print(f"{row.username:<24} {row.responder_id:<24} {state:<9} {totp:<4} "
                      + _("最近登录 {last}（北京时间）").format(last=last),
                      highlight=False)
    if not rows and not as_json:
        console.print(_("还没有用户：`fenghuo users add NAME --responder ID` 创建一个。"))
