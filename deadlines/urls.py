from django.urls import path

from deadlines import views

app_name = "deadlines"
urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/read/", views.alert_mark_read, name="alert_read"),
    path("alerts/read-all/", views.alert_mark_all_read, name="alerts_read_all"),
    path("clocks/<int:pk>/", views.clock_explain, name="clock_explain"),
    path("closure-days/", views.closure_day_list, name="closure_days"),
    path("closure-days/new/", views.closure_day_add, name="closure_day_add"),
    path("closure-days/<int:pk>/delete/", views.closure_day_delete, name="closure_day_delete"),
]
