from django.apps import AppConfig


class EarlyhelpConfig(AppConfig):
    name = "earlyhelp"
    verbose_name = "Early Help (site)"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from earlyhelp.middleware import remember_sign_in_time

        # The absolute session limit counts from sign-in (earlyhelp/middleware.py). Connected here, not in
        # accounts: accounts is below the site layer and imports none of it.
        user_logged_in.connect(remember_sign_in_time, dispatch_uid="remember_sign_in_time")
