"""Warnings the office must see before a page goes nowhere."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from yingji.notify import channels
from yingji.notify.service import profiles
from yingji.plans.schema import TARGET_RE, Plan

from .rosters import duty_at
from .targets import resolve, why_nobody


def all_targets(plan: Plan) -> list[str]:
    return [target for _path, targets in plan.target_lists() for target in targets]


def nobody_reached(plan: Plan) -> list[str]:
    """Each target of the plan that reaches nobody (`Plan.silent_target`), once, in words: shown
    on the plan page and the on-duty page; at run time the office is told instead."""
    silent = dict.fromkeys(t for t in all_targets(plan) if plan.silent_target(t))
    return [_("Pages for %(name)s reach nobody: %(why)s.") % dict(zip(("name", "why"), why_nobody(plan, target),
                                                                     strict=True)) for target in silent]


def warnings(plan: Plan, at: datetime) -> list[str]:
    out = nobody_reached(plan)
    targets = all_targets(plan)
    for group in sorted({m[2] for t in targets if (m := TARGET_RE.match(t)) and m[1] == "oncall"}):
        if plan.roster_of_group(group) is None:
            found = next((g for g in plan.organization.all_groups() if g.code == group), None)
            out.append(_("Group %(group)s has no roster: its leader is paged instead of someone on duty.")
                       % {"group": found.name if found else group})
    for roster in plan.rosters:
        on_duty = duty_at(plan, roster, at).person
        if plan.person(on_duty) is None:
            out.append(_("Nobody known is on duty for %(roster)s (%(person)s).") % {"roster": roster.name,
                                                                                   "person": on_duty})
    return _channel_warnings(plan, targets, at) + out


def _channel_warnings(plan: Plan, targets: list[str], at: datetime) -> list[str]:
    """The cause first: a channel that is not configured, with the setting that fixes it. Then the
    people it leaves with no way to be paged, in one line; then each person who would stay
    unreachable even with every channel configured (no address on any of their channels)."""
    known = profiles()
    pageable = list(dict.fromkeys(resolve(plan, targets, at) + [m for r in plan.rosters for m in r.members]))
    used = {c.code for code in pageable for c in channels.channels_for(plan, plan.person(code))}
    out = [_("Nobody can be paged by %(channel)s: it is not configured (set %(setting)s).")
           % {"channel": channels.label(plan, c.code), "setting": channels.setting_of(c)}
           for c in plan.notifications.channels if c.code in used and channels.channel_url(c) is None]
    waiting: list[str] = []
    without: list[str] = []
    for code in pageable:
        person = plan.person(code)
        name = person.name if person else code
        reachable = [c for c in channels.channels_for(plan, person)
                     if channels.address_for(c, person, known.get(code, {})) is not None]
        if not any(channels.channel_url(c) for c in reachable):
            (waiting if reachable else without).append(name)
    if waiting:
        out.append(_("Until then %(n)d people cannot be paged at all: %(names)s.")
                   % {"n": len(waiting), "names": _(", ").join(waiting)})
    out += [_("%(name)s has no address on any of their channels: pages to them cannot be delivered.")
            % {"name": name} for name in without]
    return out
