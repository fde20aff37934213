from django.urls import path

from safestats.catalogue import views

app_name = "catalogue"

urlpatterns = [
    path("catalogue", views.catalogue, name="index"),
    path("catalogue/new", views.add_dataset, name="new"),
    path("catalogue/<slug:dataset_id>", views.dataset, name="dataset"),
    path("catalogue/<slug:dataset_id>/rollback/<int:number>", views.rollback, name="rollback"),
]
