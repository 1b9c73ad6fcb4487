"""The deadlines pages. "Why is this due?" (`deadlines:clock_explain`) is added to this namespace by
earlyhelp/urls.py from workflows/clock_urls.py: it is a page of the case's record."""

from django.urls import path

from deadlines import views
from deadlines.editor_urls import urlpatterns as editor_urlpatterns

app_name = "deadlines"
urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/read/", views.alert_mark_read, name="alert_read"),
    path("alerts/read-all/", views.alert_mark_all_read, name="alerts_read_all"),
    path("closure-days/", views.closure_day_list, name="closure_days"),
    path("closure-days/new/", views.closure_day_add, name="closure_day_add"),
    path("closure-days/<int:pk>/delete/", views.closure_day_delete, name="closure_day_delete"),
]
urlpatterns += editor_urlpatterns
