"""``[demo] sandbox``: on in the demo, refused where real customers could be."""

from __future__ import annotations

from pathlib import Path

from tests.settings.files import MINIMAL, issues_of, load

ON = "[demo]\nsandbox = true\n"


def test_the_sandbox_is_off_unless_asked_for(tmp_path: Path) -> None:
    assert load(tmp_path, MINIMAL).demo.sandbox is False
    assert (
        load(
            tmp_path, MINIMAL + ON + '[smtp]\nrelay_host = "127.0.0.1"\nfrom_address = "us@example.com"\n'
        ).demo.sandbox
        is True
    )


def test_the_sandbox_is_refused_with_a_twilio_account_or_a_relay_elsewhere(tmp_path: Path) -> None:
    text = MINIMAL.replace("[twilio]\n", '[twilio]\naccount_sid = "AC123"\n') + ON
    text += '[smtp]\nrelay_host = "smtp.example.com"\n'
    reasons = sorted(issue.reason for issue in issues_of(tmp_path, text) if issue.key == "demo.sandbox")
    assert reasons == [
        "refused with a Twilio account (twilio.account_sid): replies would vanish",
        "refused with a mail relay on another machine (smtp.example.com): mail would vanish",
    ]
