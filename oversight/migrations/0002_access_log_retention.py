from django.db import migrations

# Retention deletion is the one way rows leave the access log: only inside a transaction that
# set earlyhelp.retention (oversight.data_protection.retention_delete). UPDATE is never allowed.
SQL = """
CREATE OR REPLACE FUNCTION cases_accesslog_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('earlyhelp.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the access log is append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""

REVERSE = """
CREATE OR REPLACE FUNCTION cases_accesslog_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("oversight", "0001_initial"), ("cases", "0002_access_log_append_only")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
