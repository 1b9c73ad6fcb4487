from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import sign_in_urls
from accounts import urls as accounts_urls
from api import urls as api_urls
from deadlines import procedure_urls
from deadlines import urls as deadlines_urls
from earlyhelp import views
from workflows import clock_urls

handler403 = "earlyhelp.views.error_403"
handler404 = "earlyhelp.views.error_404"
handler500 = "earlyhelp.views.error_500"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Sign-in: the password form and single sign-on over OpenID Connect (ADR 47).
    path("", include(sign_in_urls)),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    # The accounts pages and the Procedures pages (deadlines) share the /account/ paths and `accounts:` names.
    path("account/", include((accounts_urls.urlpatterns + procedure_urls.urlpatterns, accounts_urls.app_name))),
    path("", include("workflows.front_door_urls")),
    path("", include("workflows.urls")),
    path("oversight/", include("oversight.urls")),
    path("jobs/", include("kit.job_urls")),
    path("partners/", include("partners.urls")),
    path("imports/", include("imports.urls")),
    # "Why is this due?" is a page of the case's record (workflows) under the `deadlines:` names.
    path("deadlines/", include((deadlines_urls.urlpatterns + clock_urls.urlpatterns, deadlines_urls.app_name))),
    # The read API (ADR 46), and the administrator's pages for its clients.
    path("api/v1/", include("api.urls")),
    path("account/", include((api_urls.client_urlpatterns, "api_clients"))),
]

# Off unless DJANGO_ADMIN_ENABLED; when on, it is django-otp's admin site (accounts/admin.py), so
# a password alone never opens it.
if settings.DJANGO_ADMIN_ENABLED:
    urlpatterns.append(path("django-admin/", admin.site.urls))
