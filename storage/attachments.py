"""The files messages carry (``attachments``): written with their message, read one at a
time when an agent opens one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select

from interaction_center.domain.model import Attachment
from interaction_center.domain.stamps import new_id
from storage.models import AttachedFile
from storage.prepared import Prepared

ATTACHMENTS = cast(Table, AttachedFile.__table__)
_INSERT = Prepared(insert(ATTACHMENTS))
_FILE = Prepared(
    select(AttachedFile.interaction_id, AttachedFile.filename, AttachedFile.content_type, AttachedFile.data).where(
        AttachedFile.id == bindparam("id")
    )
)


@dataclass(frozen=True, slots=True)
class StoredFile:
    interaction_id: str
    filename: str
    content_type: str
    data: bytes


def rows(
    files: Sequence[Attachment], message_id: str, interaction_id: str, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The files' rows, and how the message's attributes name them (``attachments``)."""
    made = [
        {
            "id": new_id(),
            "message_id": message_id,
            "interaction_id": interaction_id,
            "filename": file.filename,
            "content_type": file.content_type,
            "size": len(file.data),
            "data": file.data,
            "created_at": now,
        }
        for file in files
    ]
    return made, [{"id": row["id"], **file.described} for row, file in zip(made, files, strict=True)]


def add(conn: Connection, made: Sequence[dict[str, Any]]) -> None:
    if made:
        _INSERT.run(conn, list(made))


def stored(conn: Connection, attachment_id: str) -> StoredFile | None:
    found = _FILE.rows(conn, {"id": attachment_id})
    return StoredFile(*found[0]) if found else None
