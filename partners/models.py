"""A partner agency's request for support, from its first draft to the contact it became.

The answers are kept as the guided form's data (a draft may be incomplete); on submission the front
door's intake service records the family, the people and the contact (workflows.services), and the
request keeps only the link to that contact: what the partner sees of it afterwards is its status
and the outcome letter the council sent (partners.selectors).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class SupportRequest(models.Model):
    organisation = models.ForeignKey("accounts.PartnerOrganisation", on_delete=models.PROTECT, related_name="requests")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    answers = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    contact = models.OneToOneField(
        "cases.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="partner_request"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "updated_at"], name="supportrequest_org")]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"R{self.pk:07d}"

    @property
    def family_name(self) -> str:
        return (self.answers.get("family_name") or "").strip() or "Family not named yet"


class ReviewInvitation(models.Model):
    """A partner user in the team around the family asked to a review of the family's plan: when and where,
    and their answer. They see it in the portal while their agency is in the team and consent to share
    with it is in force (partners.selectors.invitations_of); the e-mail names only references (ADR 52)."""

    class Answer(models.TextChoices):
        AWAITING = "awaiting", "Not answered yet"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    episode = models.ForeignKey("cases.Episode", on_delete=models.CASCADE, related_name="review_invitations")
    invitee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_invitations")
    organisation = models.ForeignKey("accounts.PartnerOrganisation", on_delete=models.PROTECT, related_name="+")
    review_at = models.DateTimeField("date and time of the review")
    place = models.CharField("where", max_length=200)
    invited_at = models.DateTimeField()
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answer = models.CharField(max_length=10, choices=Answer.choices, default=Answer.AWAITING)
    answer_note = models.TextField("note with the answer", blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_at", "pk"]
        indexes = [models.Index(fields=["invitee", "review_at"], name="reviewinvitation_invitee")]
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "invitee", "review_at"], name="one_invitation_per_review_and_person"
            )
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"V{self.pk:07d}"
