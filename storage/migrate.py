"""Schema upgrades through Alembic, driven from code so the CLI and the tests need no
alembic.ini and run in an event loop that is already going."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from interaction_center.domain.errors import StorageError
from storage.database import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
    finally:
        await engine.dispose()


async def check_current(engine: AsyncEngine) -> None:
    """Refuse to run on a schema older (or newer) than this code's migrations."""
    async with engine.connect() as connection:
        current = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current != head:
        raise StorageError(
            f"the database schema is at {current or 'nothing'}, this version needs {head}: "
            "run `interaction-center db upgrade`",
            code="storage.schema_out_of_date",
        )
