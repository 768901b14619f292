"""SQL store: the source of truth (SQLAlchemy 2, SQLite by default, PostgreSQL in production)."""
