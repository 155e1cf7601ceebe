"""How a sender's name and type for a file are kept (interaction_center/domain/model.py):
whatever came, a name is UTF-8 with no path, control or direction character and fits its
column, and a type is a well-formed media type or bytes."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from interaction_center.domain.model import MAX_FILE_NAME, UNKNOWN_MEDIA_TYPE, file_name, media_type

# Text as headers arrive: any character, lone surrogates (bytes that were not UTF-8) included.
_ANY = st.text(st.characters(codec=None, exclude_categories=()), max_size=400)
_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069/\\\\]")


@given(_ANY)
def test_any_name_is_kept_as_one_that_can_be_stored_and_shown_plainly(given_name: str) -> None:
    name = file_name(given_name)
    name.encode("utf-8")
    assert len(name) <= MAX_FILE_NAME
    assert _UNSHOWN.search(name) is None
    assert name == name.strip(" .")


@given(_ANY)
def test_any_type_is_kept_as_a_media_type_that_fits(given_type: str) -> None:
    kept = media_type(given_type)
    assert kept == UNKNOWN_MEDIA_TYPE or re.fullmatch(r"[a-z0-9][\w!#$&^.+-]*/[a-z0-9][\w!#$&^.+-]*", kept)
    assert len(kept) <= 255


def test_names_and_types_as_senders_write_them() -> None:
    assert file_name("C:\\Users\\jane\\Rechnung März.pdf") == "Rechnung März.pdf"
    assert file_name("invoice\u202efdp.exe") == "invoice_fdp.exe"
    assert file_name("\udcff.png") == "\ufffd.png"
    assert file_name("../..") == ""
    assert media_type("Image/PNG; name=x") == "image/png"
    assert media_type("image/" + "x" * 300) == UNKNOWN_MEDIA_TYPE
