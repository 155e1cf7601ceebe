"""``[dispositions]`` and a queue's ``dispositions``: the codes agents complete with."""

from __future__ import annotations

from pathlib import Path

from interaction_center.settings.model import DEFAULT_DISPOSITIONS, Disposition
from tests.settings.files import MINIMAL, issues_of, load

CODES = """
[dispositions.resolved]
label = "Resolved"
[dispositions.refund]
label = "Refund given"
complaint = true
note_required = true
"""


def test_without_dispositions_every_queue_takes_the_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path, MINIMAL)
    assert settings.dispositions == DEFAULT_DISPOSITIONS
    assert [d.code for d in settings.dispositions_of("support")] == list(DEFAULT_DISPOSITIONS)


def test_configured_codes_and_a_queues_own_list(tmp_path: Path) -> None:
    settings = load(tmp_path, MINIMAL + 'dispositions = ["refund"]\n' + CODES)
    assert settings.dispositions == {
        "resolved": Disposition("resolved", "Resolved"),
        "refund": Disposition("refund", "Refund given", complaint=True, note_required=True),
    }
    assert settings.dispositions_of("support") == [settings.dispositions["refund"]]


def test_bad_codes_and_unknown_ones_in_a_queue_are_named(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + 'dispositions = ["resolved", "nope"]\n'
        + CODES
        + '[dispositions."Bad Code"]\nlabel = "x"\n[dispositions.odd]\nlabel = "Odd"\ncomplaint = "yes"\n'
        + "[dispositions.extra]\ncolour = 3\n"
    )
    found = {(issue.key, issue.reason.split(":")[0].split(" (")[0]) for issue in issues_of(tmp_path, text)}
    assert found == {
        ("queues.support.dispositions[1]", "no disposition 'nope' in [dispositions]"),
        ("dispositions.Bad Code", "a code is 1-50 lowercase letters, digits, _ or -, starting with a letter or digit"),
        ("dispositions.odd", "complaint and note_required are true or false"),
        ("dispositions.extra", "must be a table of complaint, label, note_required"),
    }
    assert {issue.key for issue in issues_of(tmp_path, MINIMAL + "[dispositions]\n")} == {"dispositions"}
