"""Records the shared kit keeps: background jobs (long exports, imports, recomputes) and their progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BackgroundJob(models.Model):
    """One piece of long work run by a Celery worker for a user: an export, an import, a recompute.

    The page that started it sends the user to the job's page, which shows the progress (`done` of
    `total`), the outcome and, for an export, the file to download. Only the user who started it (or a
    superuser) sees it. The file lives under `settings.PRIVATE_FILES_ROOT`, never under a served folder."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Running"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=60, help_text="What the job does, e.g. annex-a, import, recompute")
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="What the job reports when it ends")
    file_path = models.CharField(max_length=300, blank=True, help_text="Relative to PRIVATE_FILES_ROOT")
    file_name = models.CharField(max_length=200, blank=True, help_text="The name the download is saved as")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="job_owner_newest")]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_state_display().lower()})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.done * 100 / self.total))
