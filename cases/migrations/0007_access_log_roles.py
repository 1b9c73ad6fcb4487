"""Retention deletion of access-log rows goes through one SECURITY DEFINER function (ADR 13).

The application connects as a role that owns nothing and holds only INSERT and SELECT on the access
log (earlyhelp/dbroles.py grants them). The one way a row leaves the log is
cases_accesslog_retention_delete(family_id, person_ids), owned by the migrating (owner) role:
- it runs with a fixed search_path and turns earlyhelp.retention on only around its own DELETE;
- it refuses a family that does not exist or is on legal hold, and a person who is not a member;
- it deletes only the rows logged against that family or those people;
- a deferred constraint trigger then refuses the commit unless every deleted row's family is gone
  with a tombstone, or its person is gone: the rows leave only with the records they are about.
The append-only trigger lets a DELETE through only inside that function (the switch is on and the
current user is the function's owner); UPDATE never.
"""

from django.db import migrations


def _sql(schema: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {schema}.cases_accesslog_retention_delete(p_family_id bigint, p_person_ids bigint[])
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = {schema}, pg_temp
AS $$
DECLARE
    held boolean;
    stranger bigint;
    deleted bigint;
    switch text := current_setting('earlyhelp.retention', true);
BEGIN
    SELECT f.legal_hold INTO held FROM cases_family f WHERE f.id = p_family_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retention deletion: family % does not exist', p_family_id;
    END IF;
    IF held THEN
        RAISE EXCEPTION 'retention deletion: family % is on legal hold', p_family_id;
    END IF;
    SELECT p.id INTO stranger FROM unnest(coalesce(p_person_ids, '{{}}'::bigint[])) AS p(id)
    WHERE NOT EXISTS (SELECT 1 FROM cases_membership m WHERE m.person_id = p.id AND m.family_id = p_family_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'retention deletion: person % is not a member of family %', stranger, p_family_id;
    END IF;
    -- On for this statement only (a function's SET clause would need a superuser to create it);
    -- an error on the way rolls the setting back with everything else.
    PERFORM set_config('earlyhelp.retention', 'on', true);
    DELETE FROM cases_accesslog
    WHERE family_id_logged = p_family_id OR person_id_logged = ANY(coalesce(p_person_ids, '{{}}'::bigint[]));
    GET DIAGNOSTICS deleted = ROW_COUNT;
    PERFORM set_config('earlyhelp.retention', coalesce(switch, ''), true);
    RETURN deleted;
END;
$$;
REVOKE ALL ON FUNCTION {schema}.cases_accesslog_retention_delete(bigint, bigint[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION {schema}.cases_accesslog_refuse_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = {schema}, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE'
        AND current_setting('earlyhelp.retention', true) = 'on'
        AND (SELECT p.proowner FROM pg_catalog.pg_proc p
             WHERE p.oid = '{schema}.cases_accesslog_retention_delete(bigint,bigint[])'::regprocedure)
            = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the access log is append-only: % is not allowed', TG_OP;
END;
$$;

CREATE OR REPLACE FUNCTION {schema}.cases_accesslog_deleted_with_record() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = {schema}, pg_temp
AS $$
BEGIN
    IF OLD.family_id_logged IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM cases_family f WHERE f.id = OLD.family_id_logged)
        AND EXISTS (SELECT 1 FROM oversight_tombstone t WHERE t.family_id_deleted = OLD.family_id_logged)
    THEN
        RETURN NULL;
    END IF;
    IF OLD.person_id_logged IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM cases_person p WHERE p.id = OLD.person_id_logged)
    THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'access log row % was deleted but its family (with a tombstone) or person was not', OLD.id;
END;
$$;
REVOKE ALL ON FUNCTION {schema}.cases_accesslog_deleted_with_record() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER cases_accesslog_deleted_with_record
    AFTER DELETE ON {schema}.cases_accesslog
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION {schema}.cases_accesslog_deleted_with_record();
"""  # noqa: S608 (only the schema name, quoted by the database adapter)


def _reverse_sql(schema: str) -> str:
    # Back to oversight 0002: the retention switch alone lets a DELETE through.
    return f"""
DROP TRIGGER IF EXISTS cases_accesslog_deleted_with_record ON {schema}.cases_accesslog;
DROP FUNCTION IF EXISTS {schema}.cases_accesslog_deleted_with_record();
DROP FUNCTION IF EXISTS {schema}.cases_accesslog_retention_delete(bigint, bigint[]);
CREATE OR REPLACE FUNCTION {schema}.cases_accesslog_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('earlyhelp.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the access log is append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""  # noqa: S608


def _schema(schema_editor) -> str:
    # Every name is qualified with the schema the tables live in, so no search_path can redirect them.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return schema_editor.quote_name(cursor.fetchone()[0])


def forwards(apps, schema_editor):
    schema_editor.execute(_sql(_schema(schema_editor)), params=None)


def backwards(apps, schema_editor):
    schema_editor.execute(_reverse_sql(_schema(schema_editor)), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_meeting_scope_and_drafts"),
        ("oversight", "0002_access_log_retention"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
