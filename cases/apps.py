from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Families, people, contacts and episodes"

    def ready(self):
        from django.conf import settings
        from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

        from accounts.models import Team
        from cases import reach
        from cases.models import Contact, Episode, Family, Meeting, MeetingItem

        # Who a family's record reaches follows every save of what decides it (cases/reach.py).
        post_save.connect(reach.family_saved, sender=Family, dispatch_uid="reach_family")
        for model in (Contact, Episode):
            post_save.connect(reach.family_member_changed, sender=model, dispatch_uid=f"reach_{model.__name__}")
            post_delete.connect(reach.family_member_changed, sender=model, dispatch_uid=f"reach_del_{model.__name__}")
        post_save.connect(reach.item_changed, sender=MeetingItem, dispatch_uid="reach_item")
        post_delete.connect(reach.item_changed, sender=MeetingItem, dispatch_uid="reach_del_item")
        m2m_changed.connect(reach.invited_teams_changed, sender=Meeting.invited_teams.through, dispatch_uid="reach_m2m")
        post_save.connect(reach.team_saved, sender=Team, dispatch_uid="reach_team")
        pre_save.connect(reach.user_before_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="reach_user_pre")
        post_save.connect(reach.user_team_changed, sender=settings.AUTH_USER_MODEL, dispatch_uid="reach_user")
