"""Sign-in with Django's model backend, without Django's model permissions.

Roles are groups and what a role may do is decided by `rules` (workflows/rules.py). Letting
ModelBackend answer permission checks as well costs two queries on every page for nothing.
"""

from django.contrib.auth.backends import ModelBackend


class AuthenticationOnlyBackend(ModelBackend):
    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        return set()
