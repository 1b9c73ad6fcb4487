"""The rulebook editor's pages (ADR 0034), in the `deadlines` namespace under /timescales/rulebooks/."""

from django.urls import path

from deadlines import editor_views as v

urlpatterns = [
    path("rulebooks/", v.rulebook_list, name="editor_rulebooks"),
    path("rulebooks/<slug:slug>/", v.rulebook_detail, name="editor_rulebook"),
    path("rulebooks/<slug:slug>/draft/start/", v.draft_start, name="editor_draft_start"),
    path("rulebooks/<slug:slug>/draft/", v.draft_detail, name="editor_draft"),
    path("rulebooks/<slug:slug>/draft/rules/new/", v.rule_edit, name="editor_rule_add"),
    path("rulebooks/<slug:slug>/draft/rules/<str:rule_id>/", v.rule_edit, name="editor_rule_edit"),
    path("rulebooks/<slug:slug>/draft/rules/<str:rule_id>/retire/", v.rule_retire, name="editor_rule_retire"),
    path("rulebooks/<slug:slug>/draft/discard/", v.draft_discard, name="editor_draft_discard"),
    path("rulebooks/<slug:slug>/draft/preview/", v.draft_preview, name="editor_preview"),
    path("rulebooks/<slug:slug>/import/", v.draft_import, name="editor_import"),
    path("rulebooks/<slug:slug>/versions/<int:number>/export/", v.version_export, name="editor_export"),
    path("rulebooks/<slug:slug>/versions/<int:number>/retire/", v.version_retire, name="editor_version_retire"),
]
