from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "Oversight and reporting"

    def ready(self):
        # Managers Decisions join the family chronology.
        from oversight import selectors

        selectors.register()
        # The access log of a background export's download (kit.jobs.on_download).
        from oversight import exports  # noqa: F401
