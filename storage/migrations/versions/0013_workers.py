"""the job queue of the workers (procrastinate), on PostgreSQL only

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 09:20:00

Workers on several machines take their jobs from procrastinate's tables in
the portal's own database. Its schema is applied here, so that ``aggregator
db upgrade`` is the one step an operator runs. SQLite has no workers (one
process runs everything there), so nothing changes on it.
"""

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Limitation: the schema is the one of the procrastinate release installed
# when this migration runs; moving to a release that changes it needs a new
# migration applying procrastinate's own migration files (pyproject.toml pins
# the minor release for that reason).

_DROP = """
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
    procrastinate_jobs, procrastinate_workers CASCADE;
DO $$
DECLARE
    routine record;
BEGIN
    FOR routine IN
        SELECT p.oid::regprocedure AS signature
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.proname LIKE 'procrastinate\\_%' AND n.nspname = current_schema()
    LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || routine.signature || ' CASCADE';
    END LOOP;
END $$;
DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type,
    procrastinate_job_to_defer_v1 CASCADE;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _execute_script(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _execute_script(_DROP)


def _execute_script(script: str) -> None:
    # Through the driver itself: the script holds many statements, function
    # bodies and percent signs, which neither SQLAlchemy's text() nor a
    # parameterised execute would leave alone.
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    driver.execute(script)
