"""`rollout mail`: what a local mail sink received (a repeat counted, not listed twice), and each
team's address set, listed and removed in the event store's database."""

from __future__ import annotations

import asyncio
import json
import smtplib
from email.message import EmailMessage

import pytest
from typer.testing import CliRunner

from cli.main import app
from devstack.mail_sink import MailSink
from tests.workflows.harness import fresh_database

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def mail(subject: str, message_id: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = (
        "rollouts@localhost", "team@adams.example", subject, message_id)
    m["X-Rollout-Notification"] = f"n-{message_id}"
    m.set_content("Adams Elementary entered Installation.")
    return m


def test_mail_list_and_show_read_the_sink(tmp_path):
    with MailSink(tmp_path / "mail") as sink, smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        smtp.send_message(mail("Adams entered Installation", "<one@localhost>"))
        smtp.send_message(mail("Overdue: the checklist", "<two@localhost>"))
        smtp.send_message(mail("Overdue: the checklist", "<two@localhost>"))  # a resend
    listed = runner.invoke(app, ["mail", "list", "--data-dir", str(tmp_path), "--json"], env=WIDE)
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["subject"], r["copies"]) for r in rows] == [
        ("Adams entered Installation", 1), ("Overdue: the checklist", 2)]
    table = runner.invoke(app, ["mail", "list", "--data-dir", str(tmp_path)], env=WIDE)
    assert "2 message(s)" in table.output and "team@adams.example" in table.output
    shown = runner.invoke(app, ["mail", "show", "2", "--data-dir", str(tmp_path)], env=WIDE)
    assert shown.exit_code == 0 and "Subject: Overdue: the checklist" in shown.output
    missing = runner.invoke(app, ["mail", "show", "3", "--data-dir", str(tmp_path)], env=WIDE)
    assert missing.exit_code == 1 and "There is no message 3; 2 arrived" in missing.output


async def _database(server_dsn: str) -> str:
    pool, dsn = await fresh_database(server_dsn)
    await pool.close()
    return dsn


@pytest.mark.postgres
def test_addresses_are_set_listed_and_removed(postgres):
    dsn = asyncio.run(_database(postgres))  # the commands run their own event loop
    at = ["--database-url", dsn]

    def run(*args: str):
        return runner.invoke(app, ["mail", "address", *args], env=WIDE)

    assert run("set", "district:adams", "team@adams.example", "--as", "sam", *at).exit_code == 0
    assert run("set", "district:adams", "office@adams.example", "--as", "sam", *at).exit_code == 0
    listed = [json.loads(line) for line in run("list", "--json", *at).output.splitlines()]
    assert [(a["recipient"], a["email"], a["updated_by"]) for a in listed] == [
        ("district:adams", "office@adams.example", "sam")]
    bad = run("set", "district:Adams", "team@adams.example", *at)
    assert bad.exit_code == 2 and "recipient must be" in bad.output
    assert run("remove", "district:adams", *at).exit_code == 0
    gone = run("remove", "district:adams", *at)
    assert gone.exit_code == 1 and "has no address" in gone.output
