from django.urls import include, path

from yingji.incidents.api import api
from yingji.web import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("yingji.web.urls")),
]
