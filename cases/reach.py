"""Who each family's record reaches, kept as rows so the scope check is an indexed equality (ADR 43).

`derived_rows` is the truth: the (kind, team, service, user) a family's records give it, computed from
the family's team, its episodes, its contacts' routing and the meetings still to decide on them.
`refresh` rewrites the stored rows of some families from that truth, in the caller's transaction;
`rebuild` does every family (the migration, the generator, a repair). The receivers at the bottom
refresh a family whenever a record that decides its scope is saved or deleted, so every service that
moves a family (intake, allocation, meeting outcomes, transfers, bulk reallocation, step-up and down,
closure, demo data) keeps its rows without knowing about them. Bulk writes that bypass `save()`
(`QuerySet.update`, `bulk_create`, the generator's COPY) call `refresh` or `rebuild` themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

# One namespace for the advisory locks that serialise two refreshes of the same family.
LOCK_NAMESPACE = 0x5C0E

DERIVED_SQL = """
SELECT DISTINCT r.family_id, r.kind, r.team_id, r.service_id, r.user_id FROM (
    SELECT f.id AS family_id, 'team' AS kind, f.team_id, t.service_id, NULL::bigint AS user_id
      FROM cases_family f JOIN accounts_team t ON t.id = f.team_id
    UNION ALL
    SELECT f.id, 'creator', NULL, NULL, f.created_by_id FROM cases_family f WHERE f.created_by_id IS NOT NULL
    UNION ALL
    SELECT e.family_id, 'team', e.team_id, t.service_id, NULL
      FROM cases_episode e JOIN accounts_team t ON t.id = e.team_id
    UNION ALL
    SELECT e.family_id, 'lead', NULL, NULL, e.lead_professional_id
      FROM cases_episode e WHERE e.lead_professional_id IS NOT NULL
    UNION ALL
    SELECT c.family_id, 'front', NULL, NULL, NULL FROM cases_contact c
    UNION ALL
    SELECT c.family_id, 'routed', c.allocated_team_id, t.service_id, NULL
      FROM cases_contact c JOIN accounts_team t ON t.id = c.allocated_team_id
    UNION ALL
    SELECT c.family_id, 'routed', u.team_id, t.service_id, NULL
      FROM cases_contact c JOIN accounts_user u ON u.id = c.created_by_id JOIN accounts_team t ON t.id = u.team_id
    UNION ALL
    SELECT c.family_id, 'meeting', mt.team_id, t.service_id, NULL
      FROM cases_meetingitem i
      JOIN cases_contact c ON c.id = i.contact_id
      JOIN cases_meeting_invited_teams mt ON mt.meeting_id = i.meeting_id
      JOIN accounts_team t ON t.id = mt.team_id
     WHERE i.decided_at IS NULL
) r
"""

INSERT_SQL = "INSERT INTO cases_familyreach (family_id, kind, team_id, service_id, user_id)"
# Constants only, the ids are parameters.
REFRESH_SQL = f"WITH gone AS (DELETE FROM cases_familyreach WHERE family_id = ANY(%s)) {INSERT_SQL} {DERIVED_SQL} WHERE r.family_id = ANY(%s)"  # noqa: S608, E501


def derived_rows(family_ids: Iterable[int] | None = None) -> set[tuple]:
    """The rows the records give these families now (every family when None): the truth."""
    with connection.cursor() as cursor:
        if family_ids is None:
            cursor.execute(DERIVED_SQL)
        else:
            cursor.execute(DERIVED_SQL + " WHERE r.family_id = ANY(%s)", [sorted(set(family_ids))])
        return set(cursor.fetchall())


def stored_rows(family_ids: Iterable[int] | None = None) -> set[tuple]:
    """The rows stored for these families (every family when None)."""
    with connection.cursor() as cursor:
        if family_ids is None:
            cursor.execute("SELECT family_id, kind, team_id, service_id, user_id FROM cases_familyreach")
        else:
            cursor.execute(
                "SELECT family_id, kind, team_id, service_id, user_id FROM cases_familyreach WHERE family_id = ANY(%s)",
                [sorted(set(family_ids))],
            )
        return set(cursor.fetchall())


def refresh(family_ids: Iterable[int]) -> None:
    """Rewrite the stored rows of these families from their records, in the caller's transaction.

    Two statements: advisory locks (so two transactions moving the same family refresh one after
    the other, each from what the other committed), then one delete-and-insert.
    """
    ids = sorted({int(pk) for pk in family_ids if pk is not None})
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, (id %% 2147483647)::int) FROM unnest(%s::bigint[]) AS id ORDER BY id",
            [LOCK_NAMESPACE, ids],
        )
        cursor.execute(
            REFRESH_SQL,
            [ids, ids],
        )


def rebuild() -> int:
    """Rewrite every family's rows (the migration's backfill, the generator, a repair); the row count."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_familyreach")
        cursor.execute(INSERT_SQL + DERIVED_SQL)
        return cursor.rowcount


def drift() -> dict[str, set[tuple]]:
    """What the stored rows miss and what they hold too many of (both empty when they are right)."""
    truth, stored = derived_rows(), stored_rows()
    return {"missing": truth - stored, "extra": stored - truth}


# --- Receivers: connected in cases/apps.py ---------------------------------------------------------


def family_saved(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or (
        update_fields is not None and not {"team", "team_id", "created_by", "created_by_id"} & set(update_fields)
    ):
        return
    refresh([instance.pk])


def family_member_changed(sender, instance, raw=False, **kwargs) -> None:
    """An episode or a contact was saved or deleted (neither ever moves to another family)."""
    if raw:
        return
    refresh([instance.family_id])


def item_changed(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    from cases.models import Contact

    refresh(Contact.objects.filter(pk=instance.contact_id).values_list("family_id", flat=True))


def invited_teams_changed(sender, instance, action, pk_set=None, **kwargs) -> None:
    """Teams were invited to (or dropped from) meetings: the families waiting on those meetings."""
    if action not in ("post_add", "post_remove", "post_clear", "pre_clear"):
        return
    from cases.models import Meeting, MeetingItem

    if action == "pre_clear":
        return
    if isinstance(instance, Meeting):
        meetings = [instance.pk]
    else:  # teams' side of the relation: pk_set holds meetings
        meetings = list(pk_set or ())
    refresh(
        MeetingItem.objects.filter(meeting_id__in=meetings, decided_at__isnull=True).values_list(
            "contact__family_id", flat=True
        )
    )


def team_saved(sender, instance, raw=False, created=False, **kwargs) -> None:
    """A team moved to another service: its rows follow it (one UPDATE)."""
    if raw or created:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_familyreach SET service_id = %s WHERE team_id = %s AND service_id IS DISTINCT FROM %s",
            [instance.service_id, instance.pk, instance.service_id],
        )


def user_team_changed(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """A member of staff changed team: the contacts they received now count for the new team's service."""
    if raw or instance.pk is None:
        return
    if update_fields is not None and "team" not in update_fields and "team_id" not in update_fields:
        return
    from cases.models import Contact

    if getattr(instance, "_reach_team_before", instance.team_id) == instance.team_id:
        return
    refresh(Contact.objects.filter(created_by_id=instance.pk).values_list("family_id", flat=True).distinct())


def user_before_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.pk is None:
        return
    if update_fields is not None and "team" not in update_fields and "team_id" not in update_fields:
        return
    instance._reach_team_before = (
        type(instance).objects.filter(pk=instance.pk).values_list("team_id", flat=True).first()
    )
