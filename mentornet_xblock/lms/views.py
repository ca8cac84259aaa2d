"""Two thin Django views over framework-free code (``mentornet_xblock.lms.endpoints``)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mentornet_xblock.lms.endpoints import authorize_target, key_set


def _bucket() -> dict:
    return (getattr(settings, "XBLOCK_SETTINGS", None) or {}).get("mentornet") or {}


@csrf_exempt  # the tool's authorisation request may arrive as a cross-site form post (OIDC allows GET and POST)
@require_http_methods(["GET", "POST"])
def authorize(request):
    params = request.GET.dict() if request.method == "GET" else request.POST.dict()
    status, target = authorize_target(_bucket(), params)
    if status != 302:
        return HttpResponse(target, status=status, content_type="text/plain; charset=utf-8")
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET"])
def jwks(request):
    status, body = key_set(_bucket())
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Cache-Control"] = "max-age=300"
    return response
