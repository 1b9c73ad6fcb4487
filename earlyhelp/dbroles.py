"""The application's database role: what it may do, granted by the owner role (ADR 13).

Two roles: the owner runs migrations and owns every table, function and sequence; the application
connects as a role that owns nothing. The application may read and write ordinary tables, may only
add to and read the append-only ones, and deletes access-log rows only through
cases_accesslog_retention_delete() (cases migration 0007). `manage.py grant_app_role` applies this
after every migration; it is idempotent, and default privileges cover tables added later.
"""

from __future__ import annotations

import re

from django.db import connection as default_connection

# Tables the application may add to and read, never change or empty.
# Role and two-factor history (accounts migration 0003) and retention tombstones are evidence too.
APPEND_ONLY_TABLES = ("cases_accesslog", "accounts_rolechange", "accounts_twofactorreset", "oversight_tombstone")
# SECURITY DEFINER functions the application may call (cases migration 0007).
APP_FUNCTIONS = ("cases_accesslog_retention_delete(bigint, bigint[])",)

_ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


class RoleError(Exception):
    """The role cannot serve as the application's role; the message says why in one sentence."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_app_role(cursor, role: str) -> None:
    """Refuse a role that could get around the grants: missing, superuser, the owner, or owning anything."""
    if not _ROLE_NAME.match(role):
        raise RoleError(f"{role!r} is not a plain PostgreSQL role name (letters, digits and _ only).")
    cursor.execute(
        "SELECT oid, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_catalog.pg_roles WHERE rolname = %s",
        [role],
    )
    row = cursor.fetchone()
    if row is None:
        raise RoleError(f"the database role {role!r} does not exist: create it first (see the README).")
    oid, superuser, bypassrls, createrole, createdb = row
    if superuser or bypassrls or createrole or createdb:
        raise RoleError(f"the database role {role!r} must be an ordinary login role (no SUPERUSER, CREATEROLE...).")
    cursor.execute("SELECT pg_has_role(%s, current_user, 'MEMBER')", [role])
    if cursor.fetchone()[0]:
        raise RoleError(f"the database role {role!r} is (or is a member of) the owner role that runs migrations.")
    cursor.execute(
        "SELECT (SELECT count(*) FROM pg_catalog.pg_class WHERE relowner = %(oid)s)"
        " + (SELECT count(*) FROM pg_catalog.pg_proc WHERE proowner = %(oid)s)"
        " + (SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspowner = %(oid)s)"
        " + (SELECT count(*) FROM pg_catalog.pg_database WHERE datdba = %(oid)s AND datname = current_database())",
        {"oid": oid},
    )
    if cursor.fetchone()[0]:
        raise RoleError(f"the database role {role!r} owns tables, functions or the database: it must own nothing.")


def grant_app_role(role: str, *, connection=None) -> None:
    """Give `role` exactly the application's privileges on the current schema. Run as the owner role."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        check_app_role(cursor, role)
        cursor.execute("SELECT current_schema()")
        schema = _ident(cursor.fetchone()[0])
        who = _ident(role)
        statements = [
            f"GRANT USAGE ON SCHEMA {schema} TO {who}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {who}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {who}",
            # Tables and sequences a later migration creates get the same, without running this again.
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {who}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {who}",
            # Nothing else: no TRUNCATE, REFERENCES or TRIGGER anywhere, even if granted before.
            f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {schema} FROM {who}",
        ]
        for table in APPEND_ONLY_TABLES:
            statements.append(f"REVOKE UPDATE, DELETE ON {schema}.{_ident(table)} FROM {who}")
            statements.append(f"REVOKE ALL ON {schema}.{_ident(table)} FROM PUBLIC")
        for function in APP_FUNCTIONS:
            statements.append(f"REVOKE ALL ON FUNCTION {schema}.{function} FROM PUBLIC")
            statements.append(f"GRANT EXECUTE ON FUNCTION {schema}.{function} TO {who}")
        for statement in statements:
            cursor.execute(statement)
