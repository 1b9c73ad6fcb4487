from django.conf import settings

from earlyhelp.navigation import items_for


def navigation(request):
    user = getattr(request, "user", None)
    return {
        "service_name": settings.SERVICE_NAME,
        "nav_items": items_for(user, request.path) if user is not None and user.is_authenticated else [],
    }
