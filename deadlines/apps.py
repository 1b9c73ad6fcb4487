from django.apps import AppConfig


class DeadlinesConfig(AppConfig):
    name = "deadlines"
    verbose_name = "Timescales, deadlines and alerts"

    def ready(self) -> None:
        # Registers the rulebook system check and the rulebook editor's permission.
        from deadlines import checks, rules  # noqa: F401
        from deadlines.counts import connect_signals

        # Every delete of a clock (cascades too) keeps the summary rows (deadlines.counts).
        connect_signals()
        # The header's count of unread alerts is loaded with the signed-in user (one query fewer a page).
        from accounts.backends import register_user_annotation
        from deadlines.selectors import UNSEEN_ALERTS_LOADED, unseen_alert_count_expression

        register_user_annotation(UNSEEN_ALERTS_LOADED, unseen_alert_count_expression)
