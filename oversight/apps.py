from django.apps import AppConfig


def decision_changed(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    from cases import board

    board.refresh(episode_ids=[instance.episode_id])


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "Oversight and reporting"

    def ready(self):
        # Managers Decisions join the family chronology.
        from oversight import selectors

        selectors.register()
        # The board's latest decision on each episode (cases.board, ADR 56) follows every decision
        # saved or deleted, whoever writes it (the generator's COPY rebuilds them all).
        from django.db.models.signals import post_delete, post_save

        from oversight.models import ManagersDecision

        post_save.connect(decision_changed, sender=ManagersDecision, dispatch_uid="board_decision")
        post_delete.connect(decision_changed, sender=ManagersDecision, dispatch_uid="board_del_decision")
        # The access log of a background export's download (kit.jobs.on_download).
        from oversight import exports  # noqa: F401
