"""Sign-in: the password form, and single sign-on over OpenID Connect (ADR 47; 404 unless configured)."""

from django.urls import path

from accounts import sso

urlpatterns = [
    path("sign-in/", sso.SignInView.as_view(), name="login"),
    path("sign-in/sso/", sso.SignInStart.as_view(), name="sso_start"),
    path("sign-in/sso/callback/", sso.SignInCallback.as_view(), name="sso_callback"),
    path("sign-in/refused/", sso.sign_in_refused, name="sso_refused"),
]
