"""The project's URLs plus the deadlines pages, for testing them before they are wired in."""

from django.urls import include, path

from earlyhelp.urls import urlpatterns as project_urlpatterns

_wired = any(getattr(p, "namespace", None) == "deadlines" for p in project_urlpatterns)
urlpatterns = [*project_urlpatterns] + ([] if _wired else [path("deadlines/", include("deadlines.urls"))])
handler403 = "earlyhelp.views.error_403"
handler404 = "earlyhelp.views.error_404"
