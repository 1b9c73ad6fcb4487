import sys, traceback, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import load
load.setup_django("profile-pages-not-a-secret-" + "x" * 30)
from django.test import Client
from django.db import connection
from benchmarks.profile_pages import _urls
users = load.choose_users()
name = sys.argv[1]
for nm, (role, urls) in _urls([name], users, 1).items():
    c = Client(HTTP_HOST="127.0.0.1"); c.force_login(users[role])
    c.get(urls[0]); c.get(urls[0])
    rows = []
    def wrap(execute, sql, params, many, context):
        st = [f"{Path(f.filename).name}:{f.lineno}({f.name})" for f in traceback.extract_stack()
              if "/.venv/" not in f.filename and "/benchmarks/" not in f.filename and str(load.ROOT) in f.filename]
        rows.append((sql[:150], " < ".join(reversed(st[-4:]))))
        return execute(sql, params, many, context)
    with connection.execute_wrapper(wrap):
        r = c.get(urls[0])
    print(nm, urls[0], r.status_code, len(rows), "queries")
    for s, st in rows:
        print(" -", st, "\n     ", s)
