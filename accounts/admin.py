"""Django's admin, for the few deployments that enable it (DJANGO_ADMIN_ENABLED, off by default).

It is django-otp's admin site: signing in needs the password and a current TOTP code, and a
session that has not passed two-factor is treated as not staff. Authenticators are not managed
here (only from the users pages, with a reason, a record and an email to the owner), role and
team changes made here are recorded like any other (accounts/audit.py), and nobody changes their
own roles, team or admin flags.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import role_changes
from accounts.models import RoleChange, Team, TwoFactorReset, User

# django-otp's documented way to put the default site (and every app's registrations) behind OTP.
admin.site.__class__ = OTPAdminSite

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)

SELF_LOCKED_FIELDS = {"groups", "team", "service", "is_superuser", "is_staff", "user_permissions"}
SELF_CHANGE_MESSAGE = (
    "You cannot change your own roles, team, service or administrator flags: ask another administrator."
)


class DeactivateNotDelete:
    """A member of staff or a team that records point at (their clocks, their history) cannot be deleted:
    Django lists what protects them, and this says why and what to do instead."""

    deactivate_instead = ""

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            messages.warning(request, self.deactivate_instead)
        return deleted, counts, perms_needed, protected


@admin.register(User)
class UserAdmin(DeactivateNotDelete, BaseUserAdmin):
    deactivate_instead = (
        "A council deactivates staff rather than deleting them: untick Active. Their clocks, records and "
        "history keep their name, and the board's counts stay true."
    )
    fieldsets = BaseUserAdmin.fieldsets + (
        ("Early Help", {"fields": ("team", "service", "job_title", "working_pattern", "caseload_capacity_override")}),
    )
    list_display = ("username", "first_name", "last_name", "team", "is_active")
    list_filter = ("team", "groups", "is_active")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None or obj.pk != request.user.pk:
            return form

        class OwnAccountForm(form):
            def clean(self):
                cleaned = super().clean()
                if SELF_LOCKED_FIELDS & set(self.changed_data):
                    raise ValidationError(SELF_CHANGE_MESSAGE)
                return cleaned

        return OwnAccountForm

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # One history row per field changed (not a removal then an addition), in the same transaction.
        with transaction.atomic(), role_changes(by=request.user, source=RoleChange.Source.DJANGO_ADMIN):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RoleChange)
class RoleChangeAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "user", "what", "before", "after", "changed_by", "source", "managers_alerted")
    list_filter = ("what", "source")


@admin.register(TwoFactorReset)
class TwoFactorResetAdmin(ReadOnlyAdmin):
    list_display = ("reset_at", "user", "reset_by", "reason", "devices_removed", "owner_notified_at_address")


@admin.register(Team)
class TeamAdmin(DeactivateNotDelete, admin.ModelAdmin):
    deactivate_instead = (
        "A team with clocks cannot be deleted: move its members and cases to another team (transfers and "
        "bulk reallocation) and leave it empty. Its clocks, and the board's counts, stay true."
    )
