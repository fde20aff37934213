"""The query pages, their downloads, saved queries, and the platform administrator's page
of jigsaw-risk alerts."""

from django.urls import path

from safestats.query import views

app_name = "query"

urlpatterns = [
    path("query", views.index, name="index"),
    path("query/saved", views.saved_list, name="saved_list"),
    path("query/saved/<uuid:saved_id>", views.saved_query, name="saved_query"),
    path("query/saved/<uuid:saved_id>/delete", views.saved_delete, name="saved_delete"),
    path("query/<slug:dataset_id>", views.builder, name="builder"),
    path("query/<slug:dataset_id>/count", views.count, name="count"),
    path("query/<slug:dataset_id>/download.<str:fmt>", views.download, name="download"),
    path("query/<slug:dataset_id>/extract.<str:fmt>", views.extract, name="extract"),
    path("query/<slug:dataset_id>/save", views.save, name="save"),
    path("platform/jigsaw-alerts", views.jigsaw_alerts, name="jigsaw_alerts"),
    path("platform/jigsaw-alerts/<int:alert_id>", views.jigsaw_review, name="jigsaw_review"),
]
