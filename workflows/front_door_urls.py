"""The front door and family pages: contacts from intake to decision, families, meetings, search.

The URL names stay in the `cases` namespace (`cases:family_detail`, ...) so links keep their names.
"""

from django.urls import path

from workflows import consent_views, escalation_views, partner_views, screening_views
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
    path("families/<int:pk>/partners/new/", partner_views.partner_agency_add, name="partner_agency_add"),
    path(
        "families/<int:pk>/partners/<int:agency_pk>/remove/",
        partner_views.partner_agency_remove,
        name="partner_agency_remove",
    ),
    path(
        "families/<int:pk>/partner-updates/<int:update_pk>/acknowledge/",
        partner_views.partner_update_acknowledge,
        name="partner_update_acknowledge",
    ),
    path("front-door/screening/", screening_views.screening_list, name="screening_list"),
    path("front-door/screening/new/", screening_views.screening_start, name="screening_start"),
    path("front-door/screening/<int:pk>/", screening_views.screening_detail, name="screening_detail"),
    path(
        "front-door/screening/<int:pk>/contacts/<int:contact_pk>/",
        screening_views.screening_outcome,
        name="screening_outcome",
    ),
    path("escalations/", escalation_views.escalation_queue, name="escalation_queue"),
    path("escalations/<int:pk>/outcome/", escalation_views.escalation_resolve, name="escalation_resolve"),
    path("contacts/<int:pk>/escalate/", escalation_views.contact_escalation_new, name="contact_escalation_new"),
    path("front-door/re-referrals/", escalation_views.re_referral_queue, name="re_referral_queue"),
    path("contacts/<int:pk>/re-referral/", escalation_views.re_referral_review, name="re_referral_review"),
    path(
        "families/<int:pk>/consents/<int:consent_pk>/withdraw/",
        consent_views.consent_withdraw,
        name="consent_withdraw",
    ),
]
