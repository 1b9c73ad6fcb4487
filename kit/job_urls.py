from django.urls import path

from kit import job_views

app_name = "jobs"
urlpatterns = [
    path("", job_views.job_list, name="list"),
    path("<int:job_id>/", job_views.job_page, name="detail"),
    path("<int:job_id>/status/", job_views.job_status, name="status"),
    path("<int:job_id>/download/", job_views.job_download, name="download"),
]
