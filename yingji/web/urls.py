from django.contrib.auth import views as auth_views
from django.urls import path

from . import incident_page, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("report", views.report_form, name="report"),
    path("r/<str:key>", views.report_status, name="report_status"),
    path("reports/<str:number>/retry", views.report_retry, name="report_retry"),
    path("incidents/", views.incident_list, name="incidents"),
    path("incidents/<str:number>", incident_page.incident_page, name="incident"),
    path("incidents/<str:number>/action/<str:action>", views.incident_action, name="incident_action"),
    path("incidents/<str:number>/facts", views.incident_facts, name="incident_facts"),
    path("incidents/<str:number>/mode", views.incident_mode, name="incident_mode"),
    path("incidents/<str:number>/scenario", views.incident_scenario, name="incident_scenario"),
    path("scenarios/<str:code>/raise", views.scenario_raise, name="scenario_raise"),
    path("bulletins/<int:bulletin_id>/lower", views.bulletin_lower, name="bulletin_lower"),
    path("screen", views.screen, name="screen"),
    path("incidents/<str:number>/grade", views.incident_grade, name="incident_grade"),
    path("tasks/<int:task_id>/ack", views.task_ack, name="task_ack"),
    path("items/<int:item_id>/tick", views.item_tick, name="item_tick"),
    path("notices/<int:notice_id>/read", views.notice_read, name="notice_read"),
    path("ack/<str:token>", views.ack, name="ack"),
    path("plan", views.plan_view, name="plan"),
    path("plan/<int:version_id>/<str:action>", views.plan_transition, name="plan_transition"),
    path("login", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
]
