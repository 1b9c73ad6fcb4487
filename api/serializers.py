"""What the API returns for each record: codes as stored, times in UTC (ISO 8601), no addresses."""

from __future__ import annotations

from rest_framework import serializers

from cases.models import Contact, Episode, Family
from deadlines.models import Deadline, Status


class FamilySerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Family
        fields = ["id", "reference", "name", "team", "language", "created_at"]


class ContactSerializer(serializers.ModelSerializer):
    family_id = serializers.IntegerField(read_only=True)
    allocated_team = serializers.CharField(source="allocated_team.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Contact
        fields = [
            "id",
            "family_id",
            "received_at",
            "route",
            "source",
            "state",
            "decision",
            "decided_at",
            "allocated_team",
        ]


class EpisodeSerializer(serializers.ModelSerializer):
    family_id = serializers.IntegerField(read_only=True)
    contact_id = serializers.IntegerField(read_only=True, allow_null=True)
    team = serializers.CharField(source="team.name", read_only=True)
    lead_professional = serializers.SerializerMethodField()

    class Meta:
        model = Episode
        fields = [
            "id",
            "family_id",
            "contact_id",
            "team",
            "lead_professional",
            "origin",
            "state",
            "opened_at",
            "allocated_at",
            "closed_at",
            "closure_reason",
        ]

    def get_lead_professional(self, episode) -> str | None:
        lead = episode.lead_professional
        return str(lead) if lead else None


class DeadlineSerializer(serializers.ModelSerializer):
    family_id = serializers.IntegerField(read_only=True, allow_null=True)
    contact_id = serializers.IntegerField(read_only=True, allow_null=True)
    episode_id = serializers.IntegerField(read_only=True, allow_null=True)
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True, help_text="As it stands at the call")

    class Meta:
        model = Deadline
        fields = [
            "id",
            "rulebook",
            "rule_id",
            "title",
            "family_id",
            "contact_id",
            "episode_id",
            "team",
            "started_at",
            "expected_at",
            "due_at",
            "stopped_at",
            "stop_reason",
            "status",
        ]


# --- Query parameters ---------------------------------------------------------------------------


class ContactFilter(serializers.Serializer):
    received_from = serializers.DateField(required=False, help_text="Received on or after this date (London)")
    received_to = serializers.DateField(required=False, help_text="Received on or before this date (London)")
    state = serializers.ChoiceField(choices=Contact.State.choices, required=False)


class EpisodeFilter(serializers.Serializer):
    state = serializers.ChoiceField(choices=Episode.State.choices, required=False)
    open = serializers.BooleanField(required=False, allow_null=True, default=None, help_text="Only open (or closed)")


class DeadlineFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    open = serializers.BooleanField(required=False, allow_null=True, default=None, help_text="Only running clocks")
    rule_id = serializers.CharField(required=False, max_length=20)


class AnnexAFilter(serializers.Serializer):
    as_at = serializers.DateField(required=False, help_text="The six months before this date (default: today)")
    offset = serializers.IntegerField(required=False, min_value=0, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=500)


class TimelinessFilter(serializers.Serializer):
    GROUPS = ("rule", "team", "month")
    date_from = serializers.DateField(required=False, help_text="First day (default: six months ago)")
    date_to = serializers.DateField(required=False, help_text="Last day (default: today)")
    group = serializers.ChoiceField(choices=[(g, g) for g in GROUPS], required=False, default="rule")

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise serializers.ValidationError({"date_from": "The first day must be on or before the last day."})
        return attrs


# --- Aggregates ---------------------------------------------------------------------------------


class AnnexAPageSerializer(serializers.Serializer):
    list = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text="One list of cells per row, in the order of `columns` (dates as YYYY-MM-DD)",
    )
    next = serializers.URLField(allow_null=True)


class TimelinessRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The rule id, the team's name or the month (YYYY-MM-01)")
    title = serializers.CharField(allow_blank=True)
    run = serializers.IntegerField(help_text="Clocks started in the period")
    judged_expected = serializers.IntegerField()
    met_expected = serializers.IntegerField()
    pct_expected = serializers.FloatField(allow_null=True)
    judged_maximum = serializers.IntegerField()
    met_maximum = serializers.IntegerField()
    pct_maximum = serializers.FloatField(allow_null=True)
    open = serializers.IntegerField(help_text="Still running")
    median_hours = serializers.FloatField(allow_null=True, help_text="Median time taken by stopped clocks")


class TimelinessSerializer(serializers.Serializer):
    group = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    rows = TimelinessRowSerializer(many=True)


# --- OAuth 2.0 client credentials (ADR 54): only to describe the token endpoint in the schema ------


class TokenRequestSerializer(serializers.Serializer):
    grant_type = serializers.ChoiceField(choices=["client_credentials"])
    scope = serializers.CharField(required=False, help_text="Optional: read (the only scope)")
    client_id = serializers.CharField(required=False, help_text="Only when not sent by HTTP Basic")
    client_secret = serializers.CharField(required=False, help_text="Only when not sent by HTTP Basic")


class AccessTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds until the token stops working")
    scope = serializers.CharField()


class OAuthErrorSerializer(serializers.Serializer):
    error = serializers.ChoiceField(
        choices=["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]
    )
    error_description = serializers.CharField()
