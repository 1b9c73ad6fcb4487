"""`make run` loads demo data once: families with open work for every demo account."""

import pytest
from django.core.management import call_command

from cases.models import Contact, Episode, Family

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_demo_is_idempotent_and_gives_each_role_work(capsys):
    call_command("seed_demo", families=40)
    first = capsys.readouterr().out
    assert "Created 40 demo families." in first and "coach" in first
    call_command("seed_demo", families=40)
    assert "Created" not in capsys.readouterr().out
    assert Family.objects.count() == 40
    assert Episode.objects.filter(lead_professional__username="coach").exists()
    assert Contact.objects.filter(state__in=Contact.OPEN_STATES, created_by__username="mash").exists()
