from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self):
        # Episode records (visits, assessments, plans, reviews, closures) join the family chronology.
        from workflows import episode_selectors

        episode_selectors.register()
