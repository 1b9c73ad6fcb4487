from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_edit, name="user_create"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/two-factor/", views.user_two_factor, name="user_two_factor"),
    path("two-factor/", views.two_factor, name="two_factor"),
]
