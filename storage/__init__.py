"""Persistence: SQLAlchemy 2 async models, repositories and Alembic migrations.
SQLite (aiosqlite) by default, PostgreSQL (asyncpg) by URL."""
