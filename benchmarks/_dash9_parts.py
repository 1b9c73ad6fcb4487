"""Per-part CPU of a page: wraps named functions and includes, accumulates process time."""
import sys, time, importlib, statistics, collections
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import load
load.setup_django("profile-pages-not-a-secret-" + "x" * 30)
from django.test import Client
from benchmarks.profile_pages import _urls
from django.template import loader_tags

acc = collections.Counter()
def wrap(mod, name):
    m = importlib.import_module(mod)
    parts = name.split(".")
    owner = m
    for p in parts[:-1]:
        owner = getattr(owner, p)
    f = getattr(owner, parts[-1])
    def w(*a, **k):
        t = time.process_time()
        try:
            return f(*a, **k)
        finally:
            acc[name] += time.process_time() - t
    setattr(owner, parts[-1], w)

orig_inc = loader_tags.IncludeNode.render
def inc(self, context):
    t = time.process_time()
    try:
        return orig_inc(self, context)
    finally:
        acc["include " + str(self.template.var)] += time.process_time() - t
loader_tags.IncludeNode.render = inc
for spec in sys.argv[2:]:
    mod, name = spec.split(":")
    wrap(mod, name)
users = load.choose_users()
N = 40
for nm, (role, urls) in _urls([sys.argv[1]], users, 1).items():
    c = Client(HTTP_HOST="127.0.0.1"); c.force_login(users[role])
    for _ in range(3): c.get(urls[0])
    acc.clear()
    tot = []
    for _ in range(N):
        t = time.process_time(); c.get(urls[0]); tot.append(time.process_time() - t)
    print(f"{nm}: median total {statistics.median(tot)*1000:.2f} ms")
    for k, v in acc.most_common():
        print(f"  {v/N*1000:7.2f} ms  {k}")
