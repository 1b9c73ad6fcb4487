"""The partner-lead rule judges the day of the action its service or view gives, not the day it runs.

`workflows.rules.is_lead_professional` asked `timezone.localdate()`: a service acting at `now` was judged
by the machine's date. It now takes the time from the caller (`require_perm(..., now=now)`, or the
ActionView's one reading of the clock, through kit.time.acting_at).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from cases.models import Consent
from kit.permissions import require_perm
from workflows import services as workflow

from .test_partner_lead_fixes import NOW, led  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

WITHDRAWN = NOW + timedelta(days=5)


@pytest.fixture
def withdrawn(led, users):  # noqa: F811
    consent = Consent.objects.get(family=led.family, purpose=Consent.Purpose.SHARE)
    workflow.consent_withdraw(consent=consent, told_at=WITHDRAWN, how="phone", by=users["coach"], now=WITHDRAWN)
    return led


def test_the_rule_judges_the_time_it_is_given_whatever_the_clock_says(withdrawn, partners):
    teacher = partners["teacher"]
    before, after = WITHDRAWN - timedelta(days=2), WITHDRAWN + timedelta(days=2)
    with time_machine.travel(after, tick=False):  # the machine says: after the withdrawal
        require_perm(teacher, "cases.work_on_episode", withdrawn, now=before)  # the action was before: allowed
    with time_machine.travel(before, tick=False):  # the machine says: before the withdrawal
        with pytest.raises(PermissionDenied):
            require_perm(teacher, "cases.work_on_episode", withdrawn, now=after)
        # Asked with no time (a page choosing which links to show): the moment of asking.
        assert teacher.has_perm("cases.work_on_episode", withdrawn)


def test_a_service_acting_at_a_time_is_judged_at_that_time(withdrawn, partners):
    from workflows import correspondence_services as letters

    teacher = partners["teacher"]
    with time_machine.travel(WITHDRAWN - timedelta(days=1), tick=False):
        assert letters.may_send(teacher, episode=withdrawn, now=WITHDRAWN - timedelta(days=1))
        assert not letters.may_send(teacher, episode=withdrawn, now=WITHDRAWN + timedelta(days=1))
