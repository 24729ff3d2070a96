from django.urls import include, path

from yingji.alerts import views as alert_views
from yingji.incidents.api import finished as finished_api
from yingji.notify import views as notify_views
from yingji.oncall import views as oncall_views
from yingji.recovery import views as recovery_views
from yingji.reviews import views as review_views
from yingji.web import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", finished_api().urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("integrations/<str:kind>/<str:token>", alert_views.receive, name="integration_receive"),
    path("alerts", alert_views.alerts_page, name="alerts"),
    path("alerts/integrations", alert_views.integration_add, name="integration_add"),
    path("alerts/integrations/<int:integration_id>/rotate", alert_views.integration_rotate, name="integration_rotate"),
    path("alerts/refused/<int:intake_id>", alert_views.dead_letter, name="dead_letter"),
    path("alerts/silences", alert_views.silence_create, name="silence_create"),
    path("alerts/silences/<int:silence_id>/end", alert_views.silence_end, name="silence_end"),
    path("pages", notify_views.my_pages, name="my_pages"),
    path("pages/<int:message_id>/ack", notify_views.page_ack, name="page_ack"),
    path("rosters/", oncall_views.roster_list, name="rosters"),
    path("rosters/<str:code>.ics", oncall_views.old_calendar),
    path("rosters/<str:code>/override", oncall_views.roster_override, name="roster_override"),
    path("people/<str:code>.ics", oncall_views.old_calendar),
    path("calendars/<str:token>.ics", oncall_views.calendar_ics, name="calendar_ics"),
    path("calendars", oncall_views.calendar_create, name="calendar_create"),
    path("calendars/<int:feed_id>/revoke", oncall_views.calendar_revoke, name="calendar_revoke"),
    path("incidents/<str:number>/entry", recovery_views.entry, name="record_entry"),
    path("incidents/<str:number>/records", recovery_views.worklist, name="records"),
    path("incidents/<str:number>/records/import", recovery_views.upload, name="records_import"),
    path("incidents/<str:number>/reconciliation/<str:department>", recovery_views.reconcile, name="reconcile"),
    path("temp-ranges", recovery_views.temp_ranges, name="temp_ranges"),
    path("records/<int:record_id>/<str:step>", recovery_views.record_step, name="record_step"),
    path("incidents/<str:number>/review", review_views.review_page, name="review"),
    path("incidents/<str:number>/review/save", review_views.review_save, name="review_save"),
    path("incidents/<str:number>/review.<str:fmt>", review_views.review_download, name="review_download"),
    path("incidents/<str:number>/evidence", review_views.evidence_add, name="evidence_add"),
    path("incidents/<str:number>/corrective", review_views.corrective_add, name="corrective_add"),
    path("corrective/<int:action_id>/done", review_views.corrective_done, name="corrective_done"),
    path("regulatory/<int:report_id>", review_views.report_save, name="report_save"),
    path("regulatory/<int:report_id>/approve", review_views.report_approve, name="report_approve"),
    path("incidents/<str:number>/situation-report", review_views.situation_report_send, name="situation_report"),
    path("regulatory/<int:report_id>.<str:fmt>", review_views.report_download, name="report_download"),
    path("", include("yingji.web.urls")),
]
