from django.urls import path

from api import client_views, views

app_name = "api"
urlpatterns = [
    path("families/", views.FamilyList.as_view(), name="family_list"),
    path("families/<int:pk>/", views.FamilyDetail.as_view(), name="family_detail"),
    path("contacts/", views.ContactList.as_view(), name="contact_list"),
    path("contacts/<int:pk>/", views.ContactDetail.as_view(), name="contact_detail"),
    path("episodes/", views.EpisodeList.as_view(), name="episode_list"),
    path("episodes/<int:pk>/", views.EpisodeDetail.as_view(), name="episode_detail"),
    path("deadlines/", views.DeadlineList.as_view(), name="deadline_list"),
    path("deadlines/<int:pk>/", views.DeadlineDetail.as_view(), name="deadline_detail"),
    path("annex-a/list-1/", views.AnnexAList.as_view(), name="annex_a_list_1"),
    path("annex-a/list-2/", views.AnnexAList2.as_view(), name="annex_a_list_2"),
    path("timeliness/", views.Timeliness.as_view(), name="timeliness"),
    # OAuth 2.0 client credentials (ADR 54); also without the final slash, as clients differ.
    path("oauth/token/", views.OAuthToken.as_view(), name="oauth_token"),
    path("oauth/token", views.OAuthTokenWithoutSlash.as_view()),
    path("schema/", views.Schema.as_view(), name="schema"),
    path("docs/", views.Docs.as_view(), name="docs"),
]

# The administrator's pages for clients live under /account/ with the other administration pages.
client_urlpatterns = [
    path("api-clients/", client_views.client_list, name="client_list"),
    path("api-clients/new/", client_views.client_create, name="client_create"),
    path("api-clients/revoke/", client_views.client_revoke, name="client_revoke"),
    path("api-clients/secret/", client_views.client_secret, name="client_secret"),
    path("api-clients/token/", client_views.client_token, name="client_token"),
]
