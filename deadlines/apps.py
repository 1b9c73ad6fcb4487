from django.apps import AppConfig


class DeadlinesConfig(AppConfig):
    name = "deadlines"
    verbose_name = "Timescales, deadlines and alerts"

    def ready(self) -> None:
        # Registers the rulebook system check.
        from deadlines import checks  # noqa: F401
