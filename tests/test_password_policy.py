"""The password policy: long enough, not too long, and not easy to guess (common
passwords, repeats, keyboard runs, the username itself)."""

from __future__ import annotations

import pytest

from interaction_center.desk.passwords import MAX_LENGTH, MIN_LENGTH, weakness


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-1A!", f"at least {MIN_LENGTH} characters"),
        ("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH} characters"),
        ("Password1234", "too easy to guess"),
        ("qwertyuiop12", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        ("caroline1990", "too easy to guess"),
        ("carolcarolcarol", "too easy to guess"),
    ],
)
def test_a_weak_password_is_refused_with_its_reason(password: str, why: str) -> None:
    reason = weakness(password, "carol")
    assert reason is not None and why in reason
    assert password not in reason  # the reason is shown and logged: it never repeats the password


@pytest.mark.parametrize("password", ["correct horse battery staple", "tr0ub4dor&3-quay", "x7#Lp9!vQ2@m" + "y" * 100])
def test_a_strong_password_is_allowed(password: str) -> None:
    assert weakness(password, "carol") is None
