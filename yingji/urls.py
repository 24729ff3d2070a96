from django.urls import include, path

from yingji.incidents.api import api
from yingji.oncall import views as oncall_views
from yingji.web import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("rosters/", oncall_views.roster_list, name="rosters"),
    path("rosters/<str:code>.ics", oncall_views.roster_ics, name="roster_ics"),
    path("rosters/<str:code>/override", oncall_views.roster_override, name="roster_override"),
    path("people/<str:code>.ics", oncall_views.person_ics, name="person_ics"),
    path("", include("yingji.web.urls")),
]
