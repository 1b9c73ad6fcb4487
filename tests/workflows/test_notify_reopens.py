"""A letter or e-mail whose sending stopped a clock, later reported undelivered, opens that clock again.

ADR 39 left this open ("the deadlines engine has no retraction"): an acknowledgement Notify could not
deliver still counted as B2 met. Now `apply_status` retracts the sending (deadlines.services.
deadline_retract_event), another acknowledgement that did go stops it again at its own time, and the
message sent again stops it when it goes. The class: every event that stops a clock on the strength of
something that can later be undone; the other members are checked at the end of this file.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import models

from cases.models import Communication, Message
from deadlines.counts import counts_reconcile
from tests.factories import NOW
from workflows import correspondence_services as letters
from workflows import services
from workflows.amend_services import AMENDABLE

from .test_notify import b2, failed_alerts, family_solutions, new_contact, notify, send_acknowledgement  # noqa: F401

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def sent_acknowledgement(users, team):
    contact = new_contact(users, team)
    message = letters.deliver(send_acknowledgement(contact, users).pk, now=NOW + H)
    assert message.status == Message.Status.SENT and b2(contact).stop_reason == "met"
    return contact, message


def test_an_acknowledgement_notify_could_not_deliver_opens_b2_again(users, team, notify, family_solutions):  # noqa: F811
    contact, message = sent_acknowledgement(users, team)
    started, due = b2(contact).started_at, b2(contact).due_at
    letters.apply_status(provider_id=message.provider_id, status="permanent-failure", at=NOW + 3 * H, now=NOW + 3 * H)
    message.refresh_from_db()
    clock = b2(contact)
    assert message.status == Message.Status.FAILED
    assert (clock.stopped_at, clock.stop_reason, clock.started_at, clock.due_at) == (None, "", started, due)
    assert failed_alerts(users["mash"]).get().message == message  # the sender is told, as before
    assert counts_reconcile(now=NOW + 3 * H, repair=False).clean  # the board's counts followed
    # Told by phone afterwards: B2 stops then, as for any acknowledgement.
    services.communication_record(
        family=contact.family,
        contact=contact,
        kind=Communication.Kind.ACKNOWLEDGEMENT,
        recipient="Ms Teacher",
        method="phone",
        sent_at=NOW + 4 * H,
        by=users["mash"],
        now=NOW + 4 * H,
    )
    assert b2(contact).stopped_at == NOW + 4 * H


def test_an_acknowledgement_that_did_go_stops_it_again_at_its_own_time(users, team, notify, family_solutions):  # noqa: F811
    contact, message = sent_acknowledgement(users, team)
    services.communication_record(  # a phone call too, while the e-mail seemed sent: it stopped nothing
        family=contact.family,
        contact=contact,
        kind=Communication.Kind.ACKNOWLEDGEMENT,
        recipient="Ms Teacher",
        method="phone",
        sent_at=NOW + 2 * H,
        by=users["mash"],
        now=NOW + 2 * H,
    )
    assert b2(contact).stopped_at == NOW + H
    letters.apply_status(provider_id=message.provider_id, status="temporary-failure", at=NOW + 5 * H, now=NOW + 5 * H)
    assert (b2(contact).stopped_at, b2(contact).stop_reason) == (NOW + 2 * H, "met")


def test_sent_again_it_stops_the_clock_when_it_goes(users, team, notify, family_solutions):  # noqa: F811
    contact, message = sent_acknowledgement(users, team)
    letters.apply_status(provider_id=message.provider_id, status="technical-failure", at=NOW + 2 * H, now=NOW + 2 * H)
    assert b2(contact).stopped_at is None
    letters.message_retry(message=message, by=users["mash"], now=NOW + 3 * H)
    message = letters.deliver(message.pk, now=NOW + 3 * H)
    assert message.status == Message.Status.SENT
    assert b2(contact).stopped_at == NOW + 3 * H
    assert message.communication.sent_at == NOW + 3 * H  # one communication, as it finally went
    assert Communication.objects.filter(contact=contact, kind=Communication.Kind.ACKNOWLEDGEMENT).count() == 1


def test_a_delivered_message_and_a_late_repeated_failure_change_nothing(users, team, notify, family_solutions):  # noqa: F811
    contact, message = sent_acknowledgement(users, team)
    letters.apply_status(provider_id=message.provider_id, status="delivered", at=NOW + 2 * H, now=NOW + 2 * H)
    letters.apply_status(provider_id=message.provider_id, status="permanent-failure", at=NOW + 3 * H, now=NOW + 3 * H)
    assert b2(contact).stopped_at == NOW + H


# --- The rest of the class ------------------------------------------------------------------------------


def test_an_amendment_changes_only_text_so_it_cannot_undo_a_clock_stop():
    """A recorded visit, assessment or plan is amended, never deleted, and only its text (ADR 37): when it
    happened and what kind it was, which the clocks' events come from, cannot be changed afterwards."""
    for spec in AMENDABLE.values():
        for name in spec.fields:
            field = spec.model._meta.get_field(name)
            assert isinstance(field, models.TextField | models.CharField), (spec.key, name)
            assert not isinstance(field, models.DateTimeField | models.DateField), (spec.key, name)
