import hashlib
import secrets
import time

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from yingji.core import clock


class Role(models.TextChoices):
    REPORTER = "reporter", _("Reporter (department staff)")
    ENGINEER = "engineer", _("Engineer on duty")
    OFFICE = "office", _("Emergency office")
    COMMANDER = "commander", _("Commander")
    DEPARTMENT_LEAD = "department_lead", _("Department lead")
    VIEWER = "viewer", _("Viewer")
    ADMIN = "admin", _("Administrator")


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REPORTER)
    department = models.CharField(_("department"), max_length=40, blank=True,
                                  help_text=_("department code from the plan"))
    person = models.CharField(max_length=40, blank=True, help_text=_("person code from the plan"))
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    def __str__(self) -> str:
        return self.get_full_name() or self.username


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """Only the hash is kept: a leaked database does not leak working tokens."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user: User, name: str) -> tuple["ApiToken", str]:
        token = "yj_" + secrets.token_urlsafe(30)
        row = cls.objects.create(user=user, name=name, prefix=token[:10], digest=_digest(token),
                                 created_at=clock.now())
        return row, token

    @classmethod
    def user_for(cls, token: str) -> User | None:
        """The token's user. Remembered for a few seconds per process: workstations post often,
        and a revoked token or a changed role takes effect within TOKEN_CACHE_S."""
        digest = _digest(token)
        cached = _token_cache.get(digest)
        if cached and time.monotonic() - cached[0] < TOKEN_CACHE_S:
            return cached[1]
        row = (cls.objects.select_related("user")
               .filter(digest=digest, revoked_at__isnull=True, user__is_active=True).first())
        user = row.user if row else None
        if len(_token_cache) > 10_000:
            _token_cache.clear()
        _token_cache[digest] = (time.monotonic(), user)
        return user


TOKEN_CACHE_S = 5.0
_token_cache: dict[str, tuple[float, User | None]] = {}
