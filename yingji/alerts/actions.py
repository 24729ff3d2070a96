"""Every change to the integrations: add one (its secret URL is shown once) and rotate its token.
Like the other `actions.py`: the role first, then one `audit.writing()` with the audit entry."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.utils.translation import gettext as _

from yingji.accounts.roles import require
from yingji.core import audit, clock
from yingji.core.actors import Actor, actor_name
from yingji.core.errors import BadInput

from . import intake
from .models import Integration


def url_of(integration: Integration, token: str) -> str:
    return f"{settings.YINGJI_BASE_URL}/integrations/{integration.kind}/{token}"


def add_integration(actor: Actor, kind: str, name: str) -> tuple[Integration, str]:
    """A new integration and its token; only the token's hash is kept, so the URL is shown once."""
    require(actor, "integrations")
    if kind not in Integration.Kind.values:
        raise BadInput("kind", _("Must be one of: %(v)s") % {"v": ", ".join(Integration.Kind.values)})
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise BadInput("name", _("Give it a name of at most 100 characters."))
    token = secrets.token_urlsafe(24)
    with audit.writing():
        if Integration.objects.filter(name=name).exists():
            raise BadInput("name", _("An integration of that name exists; rotate its token instead."))
        integration = Integration.objects.create(kind=kind, name=name, token_hash=intake.token_hash(token),
                                                 created_at=clock.now(), created_by=actor_name(actor))
        audit.append(actor_name(actor), "integration.added", "integration", integration.pk,
                     {"kind": kind, "name": name})
    return integration, token


def rotate_token(actor: Actor, integration: Integration) -> str:
    """A new secret URL; the old one answers 404 from now on."""
    require(actor, "integrations")
    token = secrets.token_urlsafe(24)
    with audit.writing():
        Integration.objects.filter(pk=integration.pk).update(token_hash=intake.token_hash(token),
                                                            rotated_at=clock.now())
        audit.append(actor_name(actor), "integration.rotated", "integration", integration.pk,
                     {"name": integration.name})
    intake.forget_tokens()
    return token
