from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts, teams and roles"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed, post_save, pre_save

        from accounts import audit

        user_model = get_user_model()
        # Every path that changes roles or teams is recorded (accounts/audit.py).
        m2m_changed.connect(audit.groups_changed, sender=user_model.groups.through, dispatch_uid="role_audit")
        pre_save.connect(audit.user_pre_save, sender=user_model, dispatch_uid="team_audit_pre")
        post_save.connect(audit.user_post_save, sender=user_model, dispatch_uid="team_audit_post")
