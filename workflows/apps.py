from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self):
        # Episode records (visits, assessments, plans, reviews, closures) join the family chronology.
        from workflows import episode_selectors

        episode_selectors.register()

        # accounts says when a practitioner joins a team; the timescale engine starts their B20 clock.
        from accounts.signals import team_joined
        from workflows.services import team_joined_record

        team_joined.connect(team_joined_record, dispatch_uid="workflows_team_joined")
