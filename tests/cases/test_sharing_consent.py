from datetime import date

import pytest

from cases.models import Consent
from cases.selectors import sharing_consented
from tests.factories import FamilyFactory

pytestmark = pytest.mark.django_db


def _share(family, **kw):
    defaults = {
        "purpose": Consent.Purpose.SHARE,
        "status": Consent.Status.GIVEN,
        "agency": "Oak Primary School",
        "recorded_on": date(2026, 11, 1),
    }
    return Consent.objects.create(family=family, **{**defaults, **kw})


def test_consent_in_force_allows_sharing_with_that_agency_only():
    family = FamilyFactory()
    _share(family)
    assert sharing_consented(family, "oak  primary school", date(2026, 12, 1))
    assert not sharing_consented(family, "Elm GP Practice", date(2026, 12, 1))
    assert not sharing_consented(family, "", date(2026, 12, 1))
    assert not sharing_consented(family, "Oak Primary School", date(2026, 10, 31))


def test_withdrawal_refused_and_early_help_consent_do_not_allow_sharing():
    family = FamilyFactory()
    consent = _share(family)
    consent.withdrawn_on = date(2026, 12, 1)
    consent.save()
    assert sharing_consented(family, "Oak Primary School", date(2026, 11, 30))
    assert not sharing_consented(family, "Oak Primary School", date(2026, 12, 1))
    _share(family, agency="Elm GP Practice", status=Consent.Status.REFUSED)
    _share(family, agency="Ash Housing", purpose=Consent.Purpose.EARLY_HELP)
    assert not sharing_consented(family, "Elm GP Practice", date(2026, 12, 1))
    assert not sharing_consented(family, "Ash Housing", date(2026, 12, 1))
