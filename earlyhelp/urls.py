from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import urls as accounts_urls
from accounts.forms import SignInForm
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
    path(
        "sign-in/",
        auth_views.LoginView.as_view(authentication_form=SignInForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    # The accounts pages and the Procedures pages (deadlines) share the /account/ paths and `accounts:` names.
    path("account/", include((accounts_urls.urlpatterns + procedure_urls.urlpatterns, accounts_urls.app_name))),
    path("", include("workflows.front_door_urls")),
    path("", include("workflows.urls")),
    path("oversight/", include("oversight.urls")),
    path("jobs/", include("kit.job_urls")),
    path("imports/", include("imports.urls")),
    # "Why is this due?" is a page of the case's record (workflows) under the `deadlines:` names.
    path("deadlines/", include((deadlines_urls.urlpatterns + clock_urls.urlpatterns, deadlines_urls.app_name))),
]

# Off unless DJANGO_ADMIN_ENABLED; when on, it is django-otp's admin site (accounts/admin.py), so
# a password alone never opens it.
if settings.DJANGO_ADMIN_ENABLED:
    urlpatterns.append(path("django-admin/", admin.site.urls))
