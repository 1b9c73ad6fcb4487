from django.urls import path

from imports import views

app_name = "imports"
urlpatterns = [
    path("", views.start, name="start"),
    path("layout/<slug:layout_kind>.csv", views.template, name="template"),
    path("<int:job_id>/", views.detail, name="detail"),
    path("import/", views.run, name="run"),
]
