"""Episodes of Early Help: lists, the episode page and one page per action."""

from django.urls import path

from workflows import amend_views, chronology_views, family_views, transfer_views, wraparound_views
from workflows import correspondence_views as letters
from workflows import episode_views as views

app_name = "episodes"
urlpatterns = [
    path("my-cases/", views.my_cases, name="my_cases"),
    path("allocation/", views.pre_allocation, name="pre_allocation"),
    path("sign-off/", views.sign_off, name="sign_off"),
    path("step-down/", family_views.step_down_find, name="step_down_find"),
    path("families/<int:family_pk>/step-down/", views.step_down, name="step_down"),
    path("episodes/<int:pk>/", views.episode_detail, name="episode_detail"),
    path("episodes/<int:pk>/notes/", views.episode_notes, name="episode_notes"),
    path("episodes/<int:pk>/timescales/", views.episode_timescales, name="episode_timescales"),
    path("episodes/<int:pk>/documents/", views.episode_documents, name="episode_documents"),
    path("episodes/<int:pk>/history/", views.episode_history, name="episode_history"),
    path("episodes/<int:pk>/allocate/", views.allocate, name="allocate"),
    path("episodes/<int:pk>/notes/new/", views.note_new, name="note_new"),
    path("episodes/<int:pk>/visits/plan/", views.planned_visit_new, name="planned_visit_new"),
    path("episodes/<int:pk>/visits/<int:visit_pk>/cancel/", views.planned_visit_cancel, name="planned_visit_cancel"),
    path("episodes/<int:pk>/assessment/", views.assessment, name="assessment"),
    path("episodes/<int:pk>/assessment/not-needed/", views.assessment_not_needed, name="assessment_not_needed"),
    path("episodes/<int:pk>/meetings/new/", views.meeting_new, name="meeting_new"),
    path("episodes/<int:pk>/plan/", views.plan, name="plan"),
    path("episodes/<int:pk>/plan/activate/", views.plan_activate, name="plan_activate"),
    path("episodes/<int:pk>/plan/outcomes/new/", views.outcome_edit, name="outcome_new"),
    path("episodes/<int:pk>/plan/outcomes/<int:outcome_pk>/", views.outcome_edit, name="outcome_edit"),
    path("episodes/<int:pk>/plan/outcomes/<int:outcome_pk>/actions/new/", views.action_edit, name="action_new"),
    path(
        "episodes/<int:pk>/plan/outcomes/<int:outcome_pk>/actions/<int:action_pk>/",
        views.action_edit,
        name="action_edit",
    ),
    path("episodes/<int:pk>/family-copy/", views.family_copy, name="family_copy"),
    path("episodes/<int:pk>/family-copy/sent/", views.family_copy_sent, name="family_copy_sent"),
    path("episodes/<int:pk>/reviews/new/", views.review_new, name="review_new"),
    path("episodes/<int:pk>/closure/", views.closure_request, name="closure_request"),
    path("episodes/<int:pk>/closure/<int:closure_pk>/", views.closure_decide, name="closure_decide"),
    path("episodes/<int:pk>/decline/", views.decline, name="decline"),
    path("episodes/<int:pk>/step-up/", views.step_up_new, name="step_up_new"),
    path("episodes/<int:pk>/step-up/<int:step_up_pk>/send/", views.step_up_send, name="step_up_send"),
    path("episodes/<int:pk>/step-up/<int:step_up_pk>/decide/", views.step_up_decide, name="step_up_decide"),
    path(
        "episodes/<int:pk>/wraparound-worker/",
        wraparound_views.wraparound_confirm,
        name="wraparound_confirm",
    ),
    path("episodes/<int:pk>/escalations/new/", views.escalation_new, name="escalation_new"),
    path(
        "episodes/<int:pk>/escalations/<int:escalation_pk>/outcome/",
        views.escalation_outcome,
        name="escalation_outcome",
    ),
    path("episodes/<int:pk>/documents/new/", views.document_new, name="document_new"),
    path("episodes/<int:pk>/documents/<int:document_pk>/download/", views.document_download, name="document_download"),
    # Moving work (ADR 0032).
    path("transfers/", transfer_views.transfers, name="transfers"),
    path("episodes/<int:pk>/transfer/", transfer_views.transfer_request, name="transfer_request"),
    path("episodes/<int:pk>/transfer/decide/", transfer_views.transfer_decide, name="transfer_decide"),
    path("episodes/<int:pk>/before-allocation/", transfer_views.before_allocation, name="before_allocation"),
    path(
        "caseloads/<int:practitioner_pk>/reallocate/",
        transfer_views.caseload_reallocate,
        name="caseload_reallocate",
    ),
    path(
        "episodes/<int:pk>/amend/<slug:record_kind>/<int:record_pk>/",
        amend_views.amend_record,
        name="amend_record",
    ),
    path(
        "episodes/<int:pk>/amend/<slug:record_kind>/<int:record_pk>/changes/",
        amend_views.amend_changes,
        name="amend_changes",
    ),
    path(
        "families/<int:family_pk>/chronology/",
        chronology_views.family_chronology_print,
        name="family_chronology",
    ),
    path(
        "families/<int:family_pk>/chronology/pdf/",
        chronology_views.family_chronology_download,
        name="family_chronology_pdf",
    ),
    path(
        "families/<int:family_pk>/case-file.pdf",
        chronology_views.family_case_file_download,
        name="family_case_file_pdf",
    ),
    path("drafts/<slug:form_key>/<int:pk>/", views.draft_save, name="draft_save"),
    path("drafts/<slug:form_key>/<int:pk>/discard/", views.draft_discard, name="draft_discard"),
    # Correspondence: the council's templates, letters from an episode, one message.
    path("letters/templates/", letters.template_list, name="letter_templates"),
    path("letters/templates/<slug:kind>/", letters.template_edit, name="letter_template_edit"),
    path("episodes/<int:pk>/letters/new/", letters.episode_letter, name="episode_letter"),
    path("letters/<int:pk>/", letters.message_detail, name="message_detail"),
    path("letters/<int:pk>/letter.pdf", letters.message_pdf, name="message_pdf"),
    path("letters/<int:pk>/retry/", letters.message_retry, name="message_retry"),
    # GOV.UK Notify's delivery receipts (bearer token, no session): not a page.
    path("letters/notify/receipts/", letters.notify_receipt, name="notify_receipts"),
    path("dev/mail/", letters.dev_mail, name="dev_mail"),  # DEBUG only: the local SMTP server's mail
]
