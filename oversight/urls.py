from django.urls import path

from oversight import views_data_protection as dp

app_name = "oversight"
urlpatterns = [
    path("retention/", dp.retention_report, name="retention_report"),
    path("retention/families/<int:pk>/", dp.retention_family, name="retention_family"),
    path("families/<int:pk>/legal-hold/", dp.legal_hold, name="legal_hold"),
    path("people/<int:pk>/subject-access/", dp.subject_access_export, name="subject_access"),
]
