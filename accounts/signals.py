"""What accounts tells the apps above it, without importing them (accounts is below every case app).

`team_joined`: a practitioner was given a team (an administrator saved their account). Sent inside the
transaction that saves the account, with `worker` (the user), `actor` (who saved it) and `now`; a
receiver that raises rolls the save back. workflows records it as the `team_joined` event of the
timescale engine, which starts the practitioner's supervision cycle (B20) — see workflows/apps.py.
"""

from django.dispatch import Signal

team_joined = Signal()
