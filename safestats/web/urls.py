from django.urls import path

from safestats.web import views

app_name = "web"

urlpatterns = [
    path("", views.start, name="start"),
    path("accessibility", views.accessibility, name="accessibility"),
    path("cookies", views.cookies, name="cookies"),
    path("privacy", views.privacy, name="privacy"),
    path("healthz", views.healthz, name="healthz"),
]
