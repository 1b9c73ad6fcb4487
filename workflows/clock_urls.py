"""The route of "Why is this due then?" (workflows/clock_views.py).

It keeps its path under /deadlines/ and its `deadlines:clock_explain` name: earlyhelp/urls.py includes
these patterns in the `deadlines` namespace, beside deadlines/urls.py.
"""

from django.urls import path

from workflows import clock_views

urlpatterns = [
    path("clocks/<int:pk>/", clock_views.clock_explain, name="clock_explain"),
]
