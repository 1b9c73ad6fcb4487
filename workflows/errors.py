class WorkflowError(Exception):
    """A state change that is not allowed; the message says why, in words for staff."""


class CaseChanged(WorkflowError):
    """Someone else changed the record since this user opened it."""

    def __init__(self, message: str = ""):
        super().__init__(
            message
            or "Someone else changed this record while you were working on it. "
            "Check the latest details below; what you typed has been kept."
        )
