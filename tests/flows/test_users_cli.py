"""`fenghuo users add|passwd|disable|list|feed-token` against the configured store and responders directory."""

from __future__ import annotations

import json

from sqlmodel import Session, col, select
from typer.testing import CliRunner

from flows.cli import app
from flows.console import open_engine
from integrations.store.models import AuditRow
from integrations.store.users import get_account

runner = CliRunner()


def _users() -> list[dict[str, object]]:
    listed = runner.invoke(app, ["users", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_add_passwd_disable_list_all_audited() -> None:
    added = runner.invoke(app, ["users", "add", "wang", "--responder", "jj-duty-office", "--password-stdin"],
                          input="a long enough secret\n")
    assert added.exit_code == 0, added.output
    assert "a long enough secret" not in added.output
    assert _users() == [{"username": "wang", "responder": "jj-duty-office", "state": "active", "totp": False,
                         "last_login_at": None, "locked_until": None}]
    with Session(open_engine()) as s:
        first = get_account(session=s, username="wang")
        assert first is not None
        old_hash = first.password_hash
    changed = runner.invoke(app, ["users", "passwd", "wang", "--password-stdin"], input="another long secret\n")
    assert changed.exit_code == 0, changed.output
    disabled = runner.invoke(app, ["users", "disable", "wang"])
    assert disabled.exit_code == 0, disabled.output
    assert [u["state"] for u in _users()] == ["disabled"]
    with Session(open_engine()) as s:
        row = get_account(session=s, username="wang")
        actions = [a.action for a in s.exec(select(AuditRow).order_by(col(AuditRow.id)))]
    assert row is not None and row.password_hash != old_hash
    assert actions == ["user_added", "user_password", "user_disabled"]


def test_the_hidden_prompt_asks_twice_and_refuses_a_mismatch() -> None:
    typo = runner.invoke(app, ["users", "add", "li", "--responder", "jj-duty-office"],
                         input="a long enough secret\na long enough secreT\n")
    assert typo.exit_code == 1
    assert "不一致" in typo.output and "a long enough secret" not in typo.output
    assert _users() == []
    ok = runner.invoke(app, ["users", "add", "li", "--responder", "jj-duty-office"],
                       input="a long enough secret\na long enough secret\n")
    assert ok.exit_code == 0, ok.output


def test_errors_are_one_chinese_line_without_traceback() -> None:
    unknown = runner.invoke(app, ["users", "add", "zhao", "--responder", "nobody", "--password-stdin"],
                            input="a long enough secret\n")
    assert unknown.exit_code == 1 and "责任人名录" in unknown.output and "Traceback" not in unknown.output
    short = runner.invoke(app, ["users", "add", "zhao", "--responder", "jj-duty-office", "--password-stdin"],
                          input="short\n")
    assert short.exit_code == 1 and "太短" in short.output
    missing = runner.invoke(app, ["users", "passwd", "ghost", "--password-stdin"], input="a long enough secret\n")
    assert missing.exit_code == 1 and "没有用户" in missing.output


def test_feed_token_is_printed_once_alone_on_stdout_and_revocable() -> None:
    from integrations.store.web_sessions import feed_token_user

    added = runner.invoke(app, ["users", "add", "zhou", "--responder", "jj-duty-office", "--password-stdin"],
                          input="a long enough secret\n")
    assert added.exit_code == 0, added.output
    issued = runner.invoke(app, ["users", "feed-token", "zhou"])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert token.startswith("fhf_") and "\n" not in token
    with Session(open_engine()) as s:
        assert feed_token_user(session=s, token=token) == "zhou"
    revoked = runner.invoke(app, ["users", "feed-token", "zhou", "--revoke"])
    assert revoked.exit_code == 0 and "已吊销" in revoked.output
    with Session(open_engine()) as s:
        assert feed_token_user(session=s, token=token) is None
    unknown = runner.invoke(app, ["users", "feed-token", "nobody"])
    assert unknown.exit_code == 1 and "没有用户" in unknown.output and "Traceback" not in unknown.output
def test_totp_binds_district_accounts_prints_the_uri_once_and_can_be_removed() -> None:
    import pyotp

    from integrations.settings import get_settings
    from integrations.totp import SecretBox

    for name, responder in (("zhao", "jj-duty-office"), ("qian", "jj-s001-office")):
        added = runner.invoke(app, ["users", "add", name, "--responder", responder, "--password-stdin"],
                              input="a long enough secret\n")
        assert added.exit_code == 0, added.output
    bound = runner.invoke(app, ["users", "totp", "zhao"])
    assert bound.exit_code == 0, bound.output
    uri = next(line for line in bound.stdout.splitlines() if line.startswith("otpauth://totp/"))
    secret = pyotp.parse_uri(uri).secret
    assert f"密钥（base32）：{secret}" in bound.stdout
    with Session(open_engine()) as s:
        row = get_account(session=s, username="zhao")
        audit = [a.detail for a in s.exec(select(AuditRow).where(AuditRow.action == "user_totp_enrolled"))]
    assert row is not None and row.totp_secret and secret not in row.totp_secret
    assert SecretBox(get_settings().totp_key).open(row.totp_secret) == secret
    assert audit == [{"username": "zhao"}]
    assert [u["totp"] for u in _users()] == [False, True]  # qian, zhao
    street = runner.invoke(app, ["users", "totp", "qian"])
    assert street.exit_code == 1 and "区县级和市级" in street.output and "Traceback" not in street.output
    removed = runner.invoke(app, ["users", "totp", "zhao", "--disable"])
    assert removed.exit_code == 0 and "已停用" in removed.output
    assert [u["totp"] for u in _users()] == [False, False]
