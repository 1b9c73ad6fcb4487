from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.forms import SignInForm
from earlyhelp import views

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
    path("account/", include("accounts.urls")),
    path("", include("workflows.front_door_urls")),
    path("", include("workflows.urls")),
    path("oversight/", include("oversight.urls")),
    path("deadlines/", include("deadlines.urls")),
]

# Off unless DJANGO_ADMIN_ENABLED; when on, it is django-otp's admin site (accounts/admin.py), so
# a password alone never opens it.
if settings.DJANGO_ADMIN_ENABLED:
    urlpatterns.append(path("django-admin/", admin.site.urls))
