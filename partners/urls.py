"""The partner portal, /partners/…: partner agencies' staff; and the administrator's agency pages."""

from django.urls import path

from partners import views

app_name = "partners"
urlpatterns = [
    path("", views.home, name="home"),
    path("two-factor/", views.two_factor, name="two_factor"),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/new/", views.request_edit, name="request_new"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("requests/<int:pk>/delete/", views.request_discard, name="request_discard"),
    path("families/", views.family_list, name="family_list"),
    path("families/<int:pk>/", views.family_detail, name="family_detail"),
    path("families/<int:pk>/updates/new/", views.update_new, name="update_new"),
    path("agencies/", views.organisation_list, name="organisation_list"),
    path("agencies/new/", views.organisation_new, name="organisation_new"),
    path("agencies/<int:pk>/", views.organisation_detail, name="organisation_detail"),
]
