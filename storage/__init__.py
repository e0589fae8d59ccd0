"""The SQLAlchemy models, sessions, queries and Alembic migrations."""
