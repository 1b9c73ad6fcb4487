from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "Oversight and reporting"

    def ready(self):
        # Managers Decisions join the family chronology.
        from oversight import selectors

        selectors.register()
