from django.urls import path

from store import views

urlpatterns = [
    path("store/items", views.StoreItemView.as_view()),
    path("store/items/search", views.StoreSearchView.as_view()),
    path("store/namespaces", views.StoreNamespacesView.as_view()),
]
