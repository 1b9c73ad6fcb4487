"""The Procedures pages (which council procedure each service follows, ADR 0019).

They live in deadlines, which knows the procedures, but keep their paths under /account/ and their
`accounts:` URL names: earlyhelp/urls.py includes these patterns in the `accounts` namespace.
"""

from django.urls import path

from deadlines import views

urlpatterns = [
    path("services/", views.service_list, name="service_list"),
    path("services/<int:pk>/procedure/", views.service_procedure, name="service_procedure"),
]
