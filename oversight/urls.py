from django.urls import path

from oversight import exports, views
from oversight import views_annex_a as annex_a
from oversight import views_data_protection as dp

app_name = "oversight"
urlpatterns = [
    path("retention/", dp.retention_report, name="retention_report"),
    path("retention/families/<int:pk>/", dp.retention_family, name="retention_family"),
    path("families/<int:pk>/legal-hold/", dp.legal_hold, name="legal_hold"),
    path("people/<int:pk>/subject-access/", dp.subject_access_export, name="subject_access"),
    # Boards and the dashboard.
    path("my-work/", views.my_work, name="my_work"),
    path("team-board/", views.team_board, name="team_board"),
    path("team-board/list/", views.team_board_list, name="team_board_list"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/breaches/", views.dashboard_breaches, name="dashboard_breaches"),
    path("dashboard/rules/", views.dashboard_rules, name="dashboard_rules"),
    path("dashboard/teams/", views.dashboard_teams, name="dashboard_teams"),
    path("dashboard/months/", views.dashboard_months, name="dashboard_months"),
    path("dashboard/caseloads/", views.dashboard_caseloads, name="dashboard_caseloads"),
    path("breaches/<int:pk>/acknowledge/", views.breach_acknowledge, name="breach_acknowledge"),
    # Reports and returns.
    path("reports/timeliness/", views.timeliness_report, name="timeliness_report"),
    path("reports/outcomes/", views.outcomes_report, name="outcomes_report"),
    path("returns/annex-a/", annex_a.annex_a_page, name="annex_a"),
    path("returns/annex-a/workbook.xlsx", annex_a.annex_a_download, name="annex_a_download"),
    path("export/<slug:table>.csv", exports.export_csv, name="export"),
    path("export/<slug:table>/prepare/", exports.export_prepare, name="export_prepare"),
    # Oversight records.
    path("episodes/<int:pk>/decisions/new/", views.decision_new, name="decision_new"),
    path("supervision/", views.supervision_list, name="supervision_list"),
    path("supervision/new/<int:practitioner_pk>/", views.supervision_new, name="supervision_new"),
    path("supervision/<int:pk>/", views.supervision_detail, name="supervision_detail"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
]
