"""Every message Yingji sends, by template name: when it goes out, what it can say, its wording.

One registry for the code that sends (`notify.service.render` takes the wording from here unless
the plan rewords it) and for the plan check (`Plan.reference_errors`: a plan's `messages:` may
only name these templates and use their placeholders, and one that asks for an acknowledgement
must carry its link). `docs/plan.md` lists it. It imports nothing of Yingji, so the plan schema
can use it without the models.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Filled in for every message: the link, and whom it is to.
ALWAYS = ("url", "name")
# Filled in for every message about an incident (`incidents.escalation.context`).
INCIDENT = ("number", "system", "symptom", "location", "level")
ACK = "url"

PLACEHOLDERS: dict[str, str] = {
    "url": "the acknowledgement link where the message asks for one, otherwise the incident's page "
           "(the audit digest: the server's address)",
    "name": "the recipient's name",
    "number": "the incident's number",
    "system": "the system's name",
    "symptom": "what the first report said",
    "location": "where it was reported (\"-\" when nobody said)",
    "level": "the response level's name (the fault class's while no level is graded)",
    "deadline": "how long they have to acknowledge (or report), in words (\"5 分钟\", \"5 min\")",
    "waited": "how long the chain waited before this step",
    "who": "the people who may activate the plan at this level",
    "scenario": "the scenario plan's name",
    "bulletin": "the scenario's bulletin",
    "lead": "who leads the scenario",
    "contacts": "the outside contacts to call, with their phones",
    "mode": "the downtime mode's name (stand-alone, paper)",
    "elapsed": "how long the outage has lasted",
    "instruction": "the mode switch's instruction (a level report: what else to do at once)",
    "to": "who the report is owed to, by name",
    "time": "the local time it was restored (HH:MM)",
    "what": "which deadline passed, and what it raised",
    "event": "what happened",
    "title": "the alert's title, as the monitor said it",
    "host": "the host the alert is about (\"-\" when the monitor named none)",
    "report": "the situation report's five contents, each after its heading",
    "date": "the day of the digest",
    "count": "how many entries the audit chain holds (a situation report: its number)",
    "last_id": "the id of its newest entry",
    "head": "the hash of its newest entry",
    "hospital": "the hospital's name",
}


@dataclass(frozen=True)
class Template:
    when: str
    placeholders: tuple[str, ...]
    subject: Promise
    body: Promise
    # The message asks to be acknowledged: {url} is its acknowledgement link and must be in it.
    ack: bool = False

    @property
    def allowed(self) -> tuple[str, ...]:
        return (*self.placeholders, *ALWAYS)


TEMPLATES: dict[str, Template] = {
    "page": Template(
        "a new incident pages the first step of its class's chain (treatment.page), and a more severe "
        "class pages whoever it adds",
        (*INCIDENT, "deadline"),
        _("[{level}] {system} fault {number}"),
        _("{system} fault: {symptom} (at {location}). Acknowledge and go on site within {deadline}. "
          "Acknowledge: {url}"), ack=True),
    "escalation": Template(
        "nobody acknowledged within timers.acknowledge: the next step of treatment.escalation is paged",
        (*INCIDENT, "deadline", "waited"),
        _("[Escalated] {system} fault {number}"),
        _("Nobody acknowledged within {waited}, so this page is escalated to you. {system} fault: "
          "{symptom} (at {location}). Acknowledge within {deadline}: {url}"), ack=True),
    "activation_request": Template(
        "the graded level needs an activation only some roles may give: the people holding them are "
        "asked, once per level",
        (*INCIDENT, "who"),
        _("[Activation needed] {system} {level}"),
        _("{system} ({number}) is graded {level}. Only {who} may activate the plan at this "
          "level: open the incident, read what activating will do, and activate it. "
          "Acknowledge: {url}"), ack=True),
    "level_report": Template(
        "the graded level owes a report upward (activation[].report): who reports is paged, once per "
        "level; acknowledging says it was reported",
        (*INCIDENT, "to", "deadline", "instruction"),
        _("[Report within {deadline}] {system} {level}"),
        _("{system} ({number}) is graded {level}. Report to {to} within {deadline}. {instruction} "
          "Acknowledge once you have reported: {url}"), ack=True),
    "activation": Template(
        "the plan is activated: activation.notify is told, and each tasked department's lead is asked "
        "to acknowledge within timers.department_ack ({url} is the lead's acknowledgement link, the "
        "incident's page for the others)",
        (*INCIDENT, "deadline"),
        _("[Plan activated] {system} {level}"),
        _("The emergency plan is activated ({level}). Start your department's procedure and "
          "acknowledge within {deadline}: {url}"), ack=True),
    "scenario": Template(
        "a scenario plan is started: its duty chain (scenarios[].notify) is paged with the contacts to call",
        (*INCIDENT, "scenario", "bulletin", "lead", "contacts"),
        _("[{scenario}] {system} {number}"),
        _("{bulletin} {lead}. Call: {contacts}. Acknowledge: {url}"), ack=True),
    "mode_switch": Template(
        "a timers.modes clock ran out: its departments switch to stand-alone or paper, and its notify "
        "list is told",
        (*INCIDENT, "mode", "elapsed", "instruction"),
        _("[{mode}] {system}"), _("{system} has been down for {elapsed}: {instruction}")),
    "restored": Template(
        "the system is restored: everyone paged, and every reporter who left a phone (by SMS)",
        (*INCIDENT, "time"),
        _("[Restored] {system} {number}"), _("{system} was restored at {time}.")),
    "breach": Template(
        "a deadline passed (on site, fix, department acknowledgement, back-entry, a regulatory report, a "
        "corrective action): the people the plan names for it are told",
        (*INCIDENT, "what"),
        _("[Deadline missed] {system} {number}"), _("{what} Follow it at {url}")),
    "update": Template(
        "closing the loop: everyone paged hears it was acknowledged, activated, escalated; the office hears "
        "of a target that reached nobody and of peak hours",
        (*INCIDENT, "event"),
        _("[Update] {system} {number}"), _("{event} Follow it at {url}")),
    "situation_report": Template(
        "a report on the situation is sent from the incident page to situation_reports.to (the leading "
        "group), with seed 000's five contents",
        (*INCIDENT, "report", "count"),
        _("[Situation report {count}] {system} {number}"),
        _("{report} Follow it at {url}")),
    "alert_warning": Template(
        "a monitor's alert of a warning level that opens no incident (monitoring.levels[].opens_incident: "
        "false, seed 001's orange warning) goes to that level's notify",
        ("level", "system", "title", "host"),
        _("[{level}] {system}: {title}"),
        _("{level} from the monitors: {title} (host {host}, system {system}). See {url}")),
    "audit_digest": Template(
        "every morning, by email, to the office's logins: the audit chain's head",
        ("date", "count", "last_id", "head", "hospital"),
        _("[Audit digest] {date}: {count} entries"),
        _("The audit chain of {hospital} holds {count} entries; its head (entry {last_id}) is "
          "{head}. Keep this mail: if the chain is ever cut short or rewritten, `yingji audit "
          "verify` and this head will not agree.")),
}


def placeholders_in(text: str) -> list[str]:
    """The {names} a template uses, in order. Raises ValueError for what str.format_map cannot
    fill from names alone: a lone brace, {0}, {a.b}, {a[0]}, {a!r}, {a:>5}."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # "Single '}' encountered in format string"
        raise ValueError(f"{exc}; write a brace itself as {{{{ or }}}}") from None
    names = []
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            written = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise ValueError(f"{written} is not a placeholder; write {{name}}, and a brace itself as {{{{ or }}}}")
        names.append(field)
    return names
