"""Least-privilege roles: the pipeline writes; analysts read marts; case officers read core; auditors audit.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Roles are cluster-wide NOLOGIN groups (created once, kept on downgrade, since other databases of the
cluster may use them); a deployment gives each person or service a login role IN one of them.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROLES = ("ridni_writer", "hq_analyst", "case_officer", "auditor")
LAYERS = ("raw", "staging", "quarantine", "core", "marts", "audit")
# who reads what (the writer writes everything)
READS = {"hq_analyst": ("marts",), "case_officer": ("core",), "auditor": ("audit",)}


def upgrade() -> None:
    for role in ROLES:
        op.execute(f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN;
            END IF;
        END $$""")
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute("DO $$ BEGIN EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()); END $$")
    op.execute("DO $$ BEGIN EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO ridni_writer', "
               "current_database()); END $$")
    for role in READS:
        op.execute(f"DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', current_database()); "
                   "END $$")
    for layer in LAYERS:
        op.execute(f"REVOKE ALL ON SCHEMA {layer} FROM PUBLIC")
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {layer} FROM PUBLIC")
        op.execute(f"GRANT USAGE ON SCHEMA {layer} TO ridni_writer")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {layer} TO ridni_writer")
        op.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {layer} TO ridni_writer")
        # tables that later migrations add follow the same rules
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {layer} REVOKE ALL ON TABLES FROM PUBLIC")
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {layer} "
                   "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO ridni_writer")
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {layer} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ridni_writer")
    for role, layers in READS.items():
        for layer in layers:
            op.execute(f"GRANT USAGE ON SCHEMA {layer} TO {role}")
            op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {layer} TO {role}")
            op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {layer} GRANT SELECT ON TABLES TO {role}")
    op.execute("GRANT SELECT ON public.alembic_version TO ridni_writer, auditor")


def downgrade() -> None:
    for layer in LAYERS:
        for role in ROLES:
            op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {layer} REVOKE ALL ON TABLES FROM {role}")
            op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {layer} REVOKE ALL ON SEQUENCES FROM {role}")
            op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {layer} FROM {role}")
            op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {layer} FROM {role}")
            op.execute(f"REVOKE ALL ON SCHEMA {layer} FROM {role}")
    op.execute("REVOKE ALL ON public.alembic_version FROM ridni_writer, auditor")
    for role in ROLES:
        op.execute(f"DO $$ BEGIN EXECUTE format('REVOKE ALL ON DATABASE %I FROM {role}', current_database()); END $$")
