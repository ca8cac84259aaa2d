from __future__ import annotations

from django.urls import path

from mentornet_xblock.lms import views

app_name = "mentornet_lti"
urlpatterns = [
    path("authorize", views.authorize, name="authorize"),
    path("jwks", views.jwks, name="jwks"),
]
