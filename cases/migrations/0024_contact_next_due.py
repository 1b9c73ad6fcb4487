"""Each contact's earliest open due time, kept by triggers on the clocks (ADR 86), and filled from the
clocks (the SQL frozen here). The triage queue reads its order along `contact_triage_next_due`."""

from django.conf import settings
from django.db import migrations, models

# The contact's row is locked before its clocks are read: two transactions changing clocks of one
# contact at once then refresh it one after the other, the second reading what the first committed
# (each statement of the function takes a new snapshot), so neither can leave a value the other made
# stale. A foreign key check of a new clock takes KEY SHARE, which this lock does not wait for.
REFRESH = """
CREATE OR REPLACE FUNCTION cases_contact_next_due_refresh(contact bigint) RETURNS void AS $$
DECLARE
    earliest timestamptz;
BEGIN
    PERFORM 1 FROM cases_contact WHERE id = contact FOR NO KEY UPDATE;
    SELECT min(due_at) INTO earliest FROM deadlines_deadline
     WHERE contact_id = contact AND stopped_at IS NULL AND due_at IS NOT NULL;
    UPDATE cases_contact SET earliest_due_at = earliest
     WHERE id = contact AND earliest_due_at IS DISTINCT FROM earliest;
END
$$ LANGUAGE plpgsql;
"""

FUNCTION = """
CREATE OR REPLACE FUNCTION cases_contact_next_due() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.contact_id IS NOT NULL THEN
            PERFORM cases_contact_next_due_refresh(OLD.contact_id);
        END IF;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM cases_contact_next_due_refresh(NEW.contact_id);
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.contact_id IS NOT NULL AND NEW.contact_id IS DISTINCT FROM OLD.contact_id THEN
            PERFORM cases_contact_next_due_refresh(NEW.contact_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""

# Only a contact's clocks call the function (an episode's or a worker's never do), and only a change
# that can move the earliest open due time: a clock started open with a due time, one stopped, moved
# or deleted. The alert job's updates (the `*_alerted_at` columns) do not fire it.
TRIGGERS = """
CREATE TRIGGER deadlines_contact_next_due_insert AFTER INSERT ON deadlines_deadline
FOR EACH ROW WHEN (NEW.contact_id IS NOT NULL AND NEW.stopped_at IS NULL AND NEW.due_at IS NOT NULL)
EXECUTE FUNCTION cases_contact_next_due();

CREATE TRIGGER deadlines_contact_next_due_update AFTER UPDATE OF contact_id, due_at, stopped_at ON deadlines_deadline
FOR EACH ROW WHEN (
    (OLD.contact_id IS NOT NULL OR NEW.contact_id IS NOT NULL)
    AND (OLD.contact_id IS DISTINCT FROM NEW.contact_id
         OR OLD.due_at IS DISTINCT FROM NEW.due_at
         OR OLD.stopped_at IS DISTINCT FROM NEW.stopped_at)
)
EXECUTE FUNCTION cases_contact_next_due();

CREATE TRIGGER deadlines_contact_next_due_delete AFTER DELETE ON deadlines_deadline
FOR EACH ROW WHEN (OLD.contact_id IS NOT NULL AND OLD.stopped_at IS NULL AND OLD.due_at IS NOT NULL)
EXECUTE FUNCTION cases_contact_next_due();
"""

DROP = """
DROP TRIGGER IF EXISTS deadlines_contact_next_due_insert ON deadlines_deadline;
DROP TRIGGER IF EXISTS deadlines_contact_next_due_update ON deadlines_deadline;
DROP TRIGGER IF EXISTS deadlines_contact_next_due_delete ON deadlines_deadline;
DROP FUNCTION IF EXISTS cases_contact_next_due();
DROP FUNCTION IF EXISTS cases_contact_next_due_refresh(bigint);
"""

FILL = """
LOCK TABLE deadlines_deadline IN SHARE MODE;
UPDATE cases_contact AS c SET earliest_due_at = d.earliest
  FROM (SELECT contact_id, min(due_at) AS earliest FROM deadlines_deadline
         WHERE contact_id IS NOT NULL AND stopped_at IS NULL AND due_at IS NOT NULL
         GROUP BY contact_id) AS d
 WHERE c.id = d.contact_id;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_partner_lead"),
        ("cases", "0023_caseload_bands"),
        # The triggers are on the clocks' table.
        ("deadlines", "0013_service_counts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="earliest_due_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(REFRESH + FUNCTION + TRIGGERS + FILL, DROP),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                models.OrderBy(models.F("earliest_due_at"), nulls_last=True),
                models.F("received_at"),
                models.F("id"),
                condition=models.Q(("state__in", ["received", "screening", "awaiting_consent"])),
                name="contact_triage_next_due",
            ),
        ),
    ]
