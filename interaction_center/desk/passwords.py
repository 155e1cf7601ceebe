"""The password policy for the passwords people choose (``agents add`` and ``passwd``, the
admin API's, an agent's own change): at least ``MIN_LENGTH`` characters, at most ``MAX_LENGTH``
(a bound on hashing and judging cost), and hard to guess by zxcvbn's measure (score
``MIN_SCORE`` of 4), which takes in its list of 30,000 common passwords, common words and
names, keyboard runs, repeats, dates and the agent's own username."""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn's "safely unguessable": about 10^8 guesses or more.
MIN_SCORE = 3
# zxcvbn judges at most this many characters (its cost grows with the length): a longer
# password is judged by its beginning, which only ever underrates it.
_JUDGED = 72


def weakness(password: str, username: str) -> str | None:
    """Why the policy refuses ``password`` for ``username``, or None if it allows it."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password may have at most {MAX_LENGTH} characters"
    judged = zxcvbn(password[:_JUDGED], user_inputs=[username])
    if int(judged["score"]) >= MIN_SCORE:
        return None
    feedback = judged["feedback"]
    why = str(feedback["warning"]) or "it would be guessed quickly"
    hints = " ".join(str(hint) for hint in feedback["suggestions"])
    return f"this password is too easy to guess: {why.rstrip('.')}. {hints}".strip()
