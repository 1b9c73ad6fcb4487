"""The front door and family pages: contacts from intake to decision, families, meetings, search.

The URL names stay in the `cases` namespace (`cases:family_detail`, ...) so links keep their names.
"""

from django.urls import path

from workflows import correspondence_views as letters
from workflows import family_views as views
from workflows import views as actions

app_name = "cases"
urlpatterns = [
    path("front-door/", actions.triage_queue, name="triage_queue"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("families/<int:family_pk>/contacts/new/", views.contact_record, name="contact_record"),
    path("contacts/<int:pk>/", actions.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/decide/", actions.contact_decide, name="contact_decide"),
    path("contacts/<int:pk>/referral-sent/", actions.contact_referral_sent, name="contact_referral_sent"),
    path("contacts/<int:pk>/communications/", actions.contact_communicate, name="contact_communicate"),
    path("contacts/<int:pk>/consent/", actions.contact_consent, name="contact_consent"),
    path("contacts/<int:pk>/letters/new/", letters.contact_letter, name="contact_letter"),
    path("families/<int:pk>/", views.family_detail, name="family_detail"),
    path("families/<int:pk>/people/new/", views.person_add, name="person_add"),
    path("families/<int:pk>/people/<int:person_pk>/address/", views.person_address_edit, name="person_address"),
    path("families/<int:pk>/agencies/new/", views.agency_add, name="agency_add"),
    path("meetings/", actions.meeting_list, name="meeting_list"),
    path("meetings/<int:pk>/", actions.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/agenda/", actions.meeting_add, name="meeting_add"),
    path("meetings/<int:pk>/items/<int:item_pk>/outcome/", actions.meeting_outcome, name="meeting_outcome"),
    path("search/", views.search, name="search"),
    path("break-glass/", views.break_glass, name="break_glass"),
    path("families/<int:pk>/access-log/", views.family_access_log, name="family_access_log"),
]
