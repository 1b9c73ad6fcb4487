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
    path("episodes/", views.episode_list, name="episode_list"),
    path("episodes/<int:pk>/", views.episode_detail, name="episode_detail"),
    path("episodes/<int:pk>/visits/new/", views.episode_visit_new, name="episode_visit_new"),
    path("episodes/<int:pk>/assessment/", views.episode_assessment, name="episode_assessment"),
    path("episodes/<int:pk>/plan/", views.episode_plan, name="episode_plan"),
    path("episodes/<int:pk>/plan/outcomes/new/", views.episode_outcome_new, name="episode_outcome_new"),
    path("episodes/<int:pk>/planning-meeting/", views.episode_planning_meeting, name="episode_planning_meeting"),
    path("episodes/<int:pk>/plan/activate/", views.episode_plan_activate, name="episode_plan_activate"),
    path("episodes/<int:pk>/reviews/new/", views.episode_review_new, name="episode_review_new"),
    path("episodes/<int:pk>/reviews/invite/", views.episode_review_invite, name="episode_review_invite"),
    path("episodes/<int:pk>/closure/", views.episode_closure, name="episode_closure"),
    path("reviews/", views.review_invitation_list, name="review_invitation_list"),
    path("reviews/<int:pk>/", views.review_invitation, name="review_invitation"),
    path("staff/episodes/<int:pk>/review-invitations/", views.staff_review_invite, name="staff_review_invite"),
    path("agencies/", views.organisation_list, name="organisation_list"),
    path("agencies/new/", views.organisation_new, name="organisation_new"),
    path("agencies/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("agencies/<int:pk>/active/", views.organisation_active, name="organisation_active"),
]
