from typing import Any

from django.http import HttpRequest

from yingji.incidents.models import Bulletin
from yingji.notify.views import waiting_count
from yingji.plans.store import published
from yingji.timers.service import worker_alive


def yingji(request: HttpRequest) -> dict[str, Any]:
    """What every page's header needs: the hospital's name, and red banners when something is off."""
    current = published()
    return {
        "hospital": current[1].hospital if current else None,
        "worker_down": not worker_alive(),
        "no_plan": current is None,
        "user_role": getattr(request.user, "role", None),
        "bulletins": list(Bulletin.objects.filter(lowered_at__isnull=True)[:5]),
        "pages_waiting": waiting_count(request.user) if request.user.is_authenticated else 0,
    }
