"""The emergency plan (应急预案) as data.

One YAML file holds what the binder holds: the hospital, who leads, the departments and outside
contacts, the systems, how faults are graded, who treats which class, who may activate which
level, the deadlines, and what each department does on paper. Pydantic checks the shape; the
cross-references (a group naming a person who is not listed, a rule naming an unknown system) are
checked in `Plan.reference_errors` so every error can point at the exact field and line.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from datetime import date, time
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

from yingji.notify.templates import ACK, TEMPLATES, placeholders_in

from .durations import PATTERN, format_duration, parse_duration

SCHEMA_ID = "yingji/plan@1"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

# A wall-clock time as plans write it ("08:00"). JSON Schema's `format: time` is RFC 3339's full
# time with seconds and an offset, which would make editors flag the shipped plans' own "08:00".
ClockTime = Annotated[time, PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
                      WithJsonSchema({"type": "string", "pattern": r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$",
                                      "examples": ["08:00"]})]

Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": PATTERN, "examples": ["30s", "5m", "3h", "1d"]}),
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9+()\- ]{3,30}$")]

ROLES = ("reporter", "engineer", "office", "commander", "department_lead", "viewer", "admin")
Role = Literal["reporter", "engineer", "office", "commander", "department_lead", "viewer", "admin"]
Criticality = Literal["core", "important", "general"]
# How far a fault reaches: one workstation, an area (floor, switch), part of a system, the hospital.
Scope = Literal["terminal", "area", "partial", "hospital"]
Cause = Literal[
    "hardware", "software", "network", "database", "power", "environment", "interface",
    "misuse", "security", "disaster", "unknown",
]
# Seed 000's kinds of security event: attacks (virus, intrusion, ransomware, denial of service),
# information destroyed (data tampered with or forged, leaked) and harmful content published.
Security = Literal["none", "virus", "intrusion", "ransomware", "data_leak", "ddos", "tampering", "content"]
Mode = Literal["read_only", "standalone", "manual"]
Phase = Literal["on_activation", "during", "after_recovery"]
PHASES: tuple[Phase, ...] = ("on_activation", "during", "after_recovery")
# A page goes to a person, everyone holding a role, a group, or whoever is on duty for a group.
TARGET_RE = re.compile(r"^(person|role|group|oncall|department):([A-Za-z0-9_.-]+)$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def known_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}, e.g. Asia/Shanghai") from None
    return value


class Hospital(Strict):
    """The hospital the plan is for."""

    code: Code
    name: Text
    short_name: str | None = Field(None, description="shown in the header and the browser tab instead of the name")
    timezone: str = Field("Asia/Shanghai", description="IANA time zone of rosters, peak hours and the times "
                          "written in messages and documents")
    language: Literal["zh-hans", "en"] = Field("zh-hans", description="the language of messages and documents, "
                                               "and of the web pages for a browser that asks for none")
    cii: bool = Field(False, description="critical information infrastructure: CAC report within 1 h")
    it_hotline: Phone | None = Field(None, description="24 h fault line of the information center")
    address: str | None = None

    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str | None) -> str | None:
        return known_zone(value)


class Document(Strict):
    """The plan as a document: its title and the chapters that are text (shown on the plan page)."""

    title: Text
    version: str = Field(description="the document's own version, as the hospital numbers it (in quotes: \"2.0\")")
    purpose: str | None = Field(None, description="编制目的")
    basis: list[Text] = Field([], description="编制依据: the laws and standards the plan follows")
    scope: str | None = Field(None, description="适用范围")
    principles: list[Text] = Field([], description="工作原则")
    risks: list[Text] = Field([], description="risk scenarios the plan covers")
    early_warning: list[Text] = Field([], description="monitoring and early-warning rules")
    effective_note: str | None = Field(None, description="when the plan takes effect (实施日期), as worded")


class Person(Strict):
    """Someone the plan names: in a group, leading a department, on a roster, or paged."""

    code: Code
    name: Text
    title: str | None = Field(None, description="job title, shown before the name (院长)")
    department: Code | None = Field(None, description="department code")
    mobile: Phone | None = Field(None, description="for SMS channels; shown only to engineers, the office and "
                                 "commanders")
    phone: Phone | None = Field(None, description="work phone, shown to everyone")
    email: str | None = Field(None, description="for email channels")
    deputy: Code | None = Field(None, description="person code of who stands in for them (shown on the plan page)")
    role: Role | None = Field(None, description="the Yingji role a login for this person gets")
    channels: list[Code] | None = Field(None, description="notification channels for this person; "
                                        "default: notifications.default_channels")


class Group(Strict):
    """A group of the organization; `group:CODE` pages its leader, deputies and members."""

    code: Code
    name: Text
    leader: Code | None = Field(None, description="person code; `oncall:CODE` pages the leader when the group "
                                "has no roster")
    deputies: list[Code] = Field([], description="person codes")
    members: list[Code] = Field([], description="person codes")
    member_note: str | None = Field(None, description="membership as the plan words it")
    duties: list[Text] = Field([], description="what the group does, as the plan lists it")
    phone: Phone | None = None


class Organization(Strict):
    """Who leads: the leading group (领导小组), its office (办公室) and the working groups."""

    leading_group: Group = Field(description="the emergency leading group (应急领导小组)")
    office: Group = Field(description="the office (应急办公室, usually the information center); its people are "
                          "told what nobody else could be")
    groups: list[Group] = Field([], description="the working groups (technical, logistics, ...)")

    def all_groups(self) -> list[Group]:
        return [self.leading_group, self.office, *self.groups]


DepartmentKind = Literal[
    "outpatient", "emergency", "inpatient", "medtech", "pharmacy", "finance",
    "administrative", "information", "logistics", "insurance",
]
# What a department's kind does. Most kinds only say what the department is (the plan page shows it
# in words); three are the defaults of back-entry rules that a plan may also state itself.
DEPARTMENT_KINDS: dict[str, str] = {
    "outpatient": "outpatient clinics and their desks",
    "emergency": "the emergency department",
    "inpatient": "wards; default of recovery.on_account_departments: insured records are parked "
                 "on account (挂账) and settled after recovery, not self-paid and re-settled",
    "medtech": "laboratory, imaging and other medical technology",
    "pharmacy": "pharmacies",
    "finance": "cashiers, billing and finance; default of recovery.settling_departments: they settle "
               "insured records of every department and see every department's records",
    "administrative": "administration (hospital office, medical and nursing departments)",
    "information": "the information center",
    "logistics": "equipment, security, general affairs, warehouses",
    "insurance": "the 医保 office; default of recovery.settling_departments, like finance",
}


class Department(Strict):
    """A department of the hospital: it runs its procedure on activation, enters its paper records."""

    code: Code
    name: Text
    kind: DepartmentKind = Field(description="what the department is; " + "; ".join(
        f"{kind}: {what}" for kind, what in DEPARTMENT_KINDS.items()))
    lead: Code | None = Field(None, description="person code of its head: `department:CODE` pages them, and they "
                              "acknowledge the activation for the department")
    phone: Phone | None = None
    location: str | None = None


class ExternalContact(Strict):
    """Someone outside the hospital to call: a vendor, the carrier, the insurance center, the police."""

    code: Code
    name: Text
    kind: Literal[
        "vendor", "carrier", "power", "insurance", "health_commission", "insurance_bureau",
        "police", "cac", "protection_dept", "other",
    ]
    phone: Phone | None = None
    email: str | None = None
    systems: list[Code] = Field([], description="system codes they support")
    note: str | None = None


class Capability(Strict):
    """Whether a system can go on without the network or read-only, and how."""

    available: bool = False
    how: str | None = Field(None, description="how staff switch to it, as the plan says it")


class System(Strict):
    """An information system the plan covers (HIS, LIS, PACS, EMR, 医保 interface, ...)."""

    code: Code
    name: Text
    description: str | None = None
    owner: Code | None = Field(None, description="department code")
    vendor: Code | None = Field(None, description="external contact code")
    protection_level: int | None = Field(None, ge=1, le=5, description="等保 level")
    criticality: Criticality = Field("general", description="what grading conditions match by criticality")
    rto: Duration | None = Field(None, description="recovery time objective")
    rpo: Duration | None = Field(None, description="recovery point objective: how much data may be lost")
    mtpd: Duration | None = Field(None, description="maximum tolerable period of disruption")
    depends_on: list[Code] = Field([], description="system codes it needs")
    standalone: Capability = Field(Capability(), description="stand-alone (单机) operation")
    read_only: Capability = Field(Capability(), description="read-only operation")
    departments: list[Code] = Field([], description="department codes that use it")


class Condition(Strict):
    """Every key given must hold; absent keys do not matter."""

    systems: list[Code] | None = Field(None, description="the incident is about one of these systems")
    criticality: list[Criticality] | None = Field(None, description="its system's criticality is one of these")
    scope: list[Scope] | None = Field(None, description="how far it reaches: terminal (one workstation), area "
                                      "(a floor, a switch), partial (part of a system), hospital")
    cause: list[Cause] | None = None
    faults: list[Code] | None = Field(None, description="grading.faults codes: what went wrong, as the plan "
                                      "names it (a deleted price list)")
    security: list[Security] | None = Field(None, description="the kind of security incident")
    outage_over: Duration | None = Field(None, description="the outage has lasted longer than this")
    patients_over: int | None = Field(None, ge=0, le=10_000_000, description="more patients are affected than this")


class Grade(Strict):
    """One grade of a scheme; a grade needs `when` conditions, `default: true` or `manual: true`."""

    code: Code
    name: Text
    description: str | None = None
    when: list[Condition] = Field([], description="any one condition grades the incident so")
    default: bool = Field(False, description="the grade when no grade's condition matches (one per scheme)")
    manual: bool = Field(False, description="never computed; only the office's override sets it")


class Scheme(Strict):
    """A grading scheme: its grades, most severe first."""

    name: Text
    description: str | None = None
    grades: list[Grade] = Field(min_length=1, description="most severe first; the first match wins")


class Fault(Strict):
    """A fault the plan grades by what went wrong, not only by how far it reaches (seeds 002, 004:
    a deleted or modified price list or a key-terminal failure is class I, a single patient's
    information lost is class II). The report form and the facts form offer the plan's list."""

    code: Code
    name: Text
    cause: Cause = Field("unknown", description="the general cause it is; set on the incident when the "
                         "cause is not yet known")


class Grading(Strict):
    """How an incident is graded, five ways at once (seven with the optional schemes); each scheme is
    evaluated on every change of facts."""

    fault_class: Scheme = Field(description="故障等级 (I/II/III): chooses the treatment")
    response_level: Scheme = Field(description="响应级别 (1/2/3): chooses the activation")
    duration_level: Scheme = Field(description="by how long the outage has lasted (IV–I); rises by itself")
    category: Scheme = Field(description="the GB/T 20986-2023 category")
    national_grade: Scheme = Field(description="the national grade of the 2025 reporting rules, set by hand "
                                   "(manual grades)")
    scope_level: Scheme | None = Field(None, description="by how many users and how much business the fault "
                                       "reaches (seed 000: 一般 / 较大 / 重大 / 特别重大)")
    event_type: Scheme | None = Field(None, description="the plan's own kinds of event (seed 000's eight: "
                                      "network attack, information destroyed, content, network, server, "
                                      "software, disaster, other), beside the GB/T 20986 category")
    faults: list[Fault] = Field([], description="faults named by what went wrong, for conditions' `faults`")

    def schemes(self) -> Iterator[tuple[str, Scheme]]:
        for name in SCHEME_ORDER:
            scheme = getattr(self, name)
            if scheme is not None:
                yield name, scheme

    def fault(self, code: str) -> Fault | None:
        return next((f for f in self.faults if f.code == code), None)


SCHEME_ORDER = ("fault_class", "response_level", "duration_level", "category", "national_grade", "scope_level",
                "event_type")


class Treatment(Strict):
    """Who treats an incident of one fault class: paged on open, then one escalation step at a time."""

    fault_class: Code = Field(description="a fault_class grade")
    lead: Text = Field(description="who leads, as the plan says it")
    page: list[str] = Field([], description="targets paged when an incident of this class opens")
    may_close: list[Role] = Field(["office"], description="roles that may close an incident of this class")
    escalation: list[str] = Field([], description="paged one step at a time while nobody acknowledges "
                                  "within timers.acknowledge")
    register_only: bool = Field(False, description="handled alone by the engineer and registered")


class LevelReport(Strict):
    """A report upward owed as soon as an incident is graded at a level (seed 001: at level 2 the
    technical group's leader reports to the deputy commander within 10 minutes and starts the
    standby equipment). The people in `by` are paged with an acknowledgement that says it was
    reported; a timer tells `to` and the office when it was not."""

    within: Duration
    by: list[str] = Field(description="who reports (targets, e.g. person:info-director)")
    to: list[str] = Field(description="who is reported to (the deputy commander)")
    instruction: Text | None = Field(None, description="what else to do at once, said in the page")


class Activation(Strict):
    """Activating the plan at one response level: who may, who is told, which departments start."""

    level: Code = Field(description="a response_level grade")
    report: LevelReport | None = Field(None, description="a report upward owed within a time of this grade")
    requires_activation: bool = Field(True, description="the level waits for an activation: the roles in "
                                      "`activate` are asked for it (activation_request)")
    activate: list[Role] = Field(["commander"], description="roles that may activate the plan at this level")
    stand_down: list[Role] = Field(["commander"], description="roles that may stand it down")
    notify: list[str] = Field([], description="targets told when it is activated")
    departments: list[Code] | Literal["all"] = Field("all", description="department codes that get their "
                                                     "procedure's checklist and must acknowledge, or all")


class ModeSwitch(Strict):
    """A clock from the report: when it runs out, departments work stand-alone or on paper."""

    after: Duration = Field(description="of core outage")
    mode: Mode = Field(description="read_only, standalone (单机) or manual (paper, 手工)")
    systems: list[Code] = Field(description="whose outage starts this clock")
    scopes: list[Scope] = Field(["partial", "hospital"], description="the scopes of outage that start this clock "
                                "(seed 004: an overall fault, hospital)")
    departments: list[Code] = Field(description="department codes that switch")
    notify: list[str] = Field([], description="targets told (mode_switch)")
    instruction: Text | None = Field(None, description="what to do, in the mode_switch message and on the plan page")


class FixEscalation(Strict):
    """What the fix deadline does to a grade when it passes unfixed (seed 001: "若30分钟未恢复，升级为
    二级事件"): a level-3 incident becomes level 2. It raises from one grade to another, never
    beyond, so a level-2 incident is not made level 1 by the clock (level 1 comes from the plan's
    own conditions)."""

    scheme: Literal["fault_class", "response_level", "duration_level"] = Field(description="the scheme of the grade")
    grade: Code = Field(description="the grade the deadline raises (a level-3 incident: \"3\")")
    raise_to: Code = Field(description="what it becomes (\"2\")")


class Timers(Strict):
    """The deadlines, each a durable timer; what happens when one passes."""

    acknowledge: Duration = Field(parse_duration("5m"), description="a page must be acknowledged within this, "
                                  "or the next step of treatment.escalation is paged")
    on_site: Duration = Field(parse_duration("10m"), description="after acknowledging, the engineer is on site "
                              "within this, or on_site_breach is told")
    fix: Duration = Field(parse_duration("30m"), description="from the report, fixed within this, or fix_breach "
                          "is told and fix_escalation raises the grade")
    department_ack: Duration = Field(parse_duration("10m"), description="after activation, each department "
                                     "acknowledges within this, or department_ack_breach is told")
    backentry: Duration = Field(parse_duration("24h"), description="after restore, back-entry is done and every "
                                "department has signed within this, or their leads get the open items")
    modes: list[ModeSwitch] = Field([], description="downtime-mode clocks")
    on_site_breach: list[str] = Field([], description="told when the engineer is not on site in time")
    fix_breach: list[str] = Field([], description="told (the director) when the fault is not fixed in time")
    fix_escalation: list[FixEscalation] = Field([], description="grades the fix deadline raises when it "
                                                "passes; empty: it raises nothing, only tells fix_breach")
    department_ack_breach: list[str] = Field([], description="told when a department has not acknowledged "
                                             "the activation in time (medical / nursing heads)")


ChannelKind = Literal["email", "sms", "wecom", "dingtalk", "feishu", "webhook"]
# The address each kind needs from a person; bots and webhooks post to a fixed URL.
CHANNEL_NEEDS: dict[str, str | None] = {"email": "email", "sms": "mobile", "wecom": None, "dingtalk": None,
                                        "feishu": None, "webhook": None}


class Channel(Strict):
    """A way messages go out; people name channels by code."""

    code: Code
    kind: ChannelKind = Field(description="email and sms reach a person's address; the bots and webhook post to "
                              "one URL")
    url: str | None = Field(None, description="apprise URL (json://, form://, wecombot://, dingtalk://, "
                            "feishu://); {mobile}, {email}, {person} are filled in per recipient. "
                            "Email uses YINGJI_EMAIL_URL when empty")
    url_env: str | None = Field(None, description="take the URL from this environment variable instead, "
                                "so bot keys stay out of the plan")


class Notifications(Strict):
    """The channels messages go out on, and how they are retried."""

    channels: list[Channel] = []
    default_channels: list[Code] = Field([], description="channels for people who do not list their own")
    retry: list[Duration] = Field([parse_duration(d) for d in ("30s", "2m", "10m", "30m")],
                                  description="wait before each retry; gives up after the last")
    ack_valid: Duration = Field(parse_duration("24h"), description="how long an acknowledgement link works")


class Roster(Strict):
    """值班表: who of a group is on duty, handing over at a local wall-clock time."""

    code: Code
    name: Text
    group: Code = Field(description="the group whose duty it is: `oncall:GROUP` asks this roster")
    rotation: Literal["daily", "weekly"] = "daily"
    handover: ClockTime = Field(time(8, 0), description="local time the shift changes")
    timezone: str | None = Field(None, description="IANA zone; default: the hospital's")
    start: date = Field(description="the first shift starts at the handover time of this day")
    handover_day: Weekday | None = Field(None, description="weekly rosters: the weekday shifts change on; "
                                         "`start` must be one (default: start's weekday)")
    members: list[Code] = Field(min_length=1, description="in rotation order")

    @model_validator(mode="after")
    def handover_day_matches_start(self) -> Roster:
        # A weekly roster hands over on start's weekday; saying it makes the plan readable, and a
        # start on another day is the mistake a second hospital made without noticing.
        if self.handover_day is not None:
            if self.rotation != "weekly":
                raise ValueError("handover_day is only for weekly rosters")
            if WEEKDAYS[self.start.weekday()] != self.handover_day:
                raise ValueError(f"start {self.start.isoformat()} is a {WEEKDAYS[self.start.weekday()]}, "
                                 f"not a {self.handover_day}: weekly shifts change on start's weekday")
        return self

    @property
    def weekday(self) -> str:
        """The weekday a weekly roster hands over on."""
        return WEEKDAYS[self.start.weekday()]

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str | None) -> str | None:
        return known_zone(value)


class Intake(Strict):
    """Fault reports."""

    merge_window: Duration = Field(parse_duration("30m"), description="a report on a system whose open incident "
                                   "had a report within this joins that incident")
    symptoms: list[Text] = Field([], description="quick choices shown on the report form")


class Step(Strict):
    """A checklist item someone in particular answers for (seed 001: the technical group's
    leader starts the standby equipment)."""

    text: Text
    owner: Code | None = Field(None, description="person code of who does it; shown beside the item on the "
                               "incident and plan pages")


class ChecklistEntry(NamedTuple):
    phase: Phase
    position: int
    text: str
    owner: str | None


class Checklist(Strict):
    """What to do, by phase; each item is ticked on the incident page. An item is text, or
    {text, owner} for one a person answers for."""

    on_activation: list[Text | Step] = Field([], description="at once, when the plan is activated")
    during: list[Text | Step] = Field([], description="while the system is down")
    after_recovery: list[Text | Step] = Field([], description="after restore (back-entry, charging, checks)")

    def items(self) -> Iterator[ChecklistEntry]:
        for phase in PHASES:
            for index, item in enumerate(getattr(self, phase)):
                if isinstance(item, Step):
                    yield ChecklistEntry(phase, index, item.text, item.owner)
                else:
                    yield ChecklistEntry(phase, index, item, None)

    def owners(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """(path within the checklist, person code) of every item with an owner."""
        for phase in PHASES:
            for index, item in enumerate(getattr(self, phase)):
                if isinstance(item, Step) and item.owner:
                    yield (phase, index, "owner"), item.owner


class Procedure(Strict):
    """A department's own procedure (科室应急流程): its checklist when the plan is activated."""

    department: Code = Field(description="department code; one procedure per department")
    checklist: Checklist


class ScenarioMode(Strict):
    mode: Mode
    departments: list[Code] | Literal["reporting"] = Field(
        description="department codes, or `reporting`: the departments whose staff reported the fault "
        "(an area's own wards), except those another mode of the scenario names")
    affected_only: bool = Field(False, description="only those of `departments` that reported the fault (outpatient "
                                "charging goes stand-alone when it is in the area)")


class Scenario(Strict):
    """A procedure for one kind of fault (专项预案: 医保 network, power, virus, a regional fault by
    cause): its checklist, who is told, the outside contacts to call, a bulletin and downtime modes.
    It starts by hand (the dashboard, the incident page), with an activation whose facts it fits,
    or, when `automatic`, by itself as soon as its conditions hold, whatever the level."""

    code: Code
    name: Text
    applies_when: list[Condition] = Field([], description="an activated incident matching one gets the "
                                          "scenario's checklist (an automatic one starts by itself); naming "
                                          "systems gives it a dashboard button")
    automatic: bool = Field(False, description="start by itself as soon as one of applies_when holds (on a "
                            "report, a fact change or when an outage_over passes), whatever the activation level")
    lead: str | None = Field(None, description="who leads, as the plan says it")
    notify: list[str] = Field([], description="targets paged when it starts (scenario)")
    checklist: Checklist
    bulletin: str | None = Field(None, description="notice shown on screens and the status page")
    contacts: list[Code] = Field([], description="external contacts to call")
    call_vendor: bool = Field(False, description="also call the affected system's vendor (systems[].vendor and the "
                              "external contacts that list the system)")
    modes: list[ScenarioMode] = Field([], description="downtime modes the departments go into when it starts")


class PeakHours(Strict):
    """Busy hours: activating, or a department leaving HIS, then tells the office to redeploy staff."""

    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field([1, 2, 3, 4, 5], description="1 is Monday, 7 Sunday")
    start: ClockTime = time(9, 0)
    end: ClockTime = time(11, 0)
    instruction: Text = Field(description="what the office is told")


class InsuranceScheme(Strict):
    """A 医保 scheme a manual record can name; its center is who the cashier calls."""

    code: Code = Field(description="what a manual record's insurance names")
    name: Text
    center: Code | None = Field(None, description="external contact code of its insurance center")


class RecordKind(Strict):
    """A kind of paper record a department writes during a downtime and enters afterwards."""

    code: Code
    name: Text
    needs_clinician: bool = Field(False, description="written by a doctor or nurse: must name who wrote it")
    needs_amount: bool = Field(False, description="a charge: must give an amount")
    inpatient: bool = Field(False, description="an inpatient record (admission, discharge): insured ones are "
                            "parked on account (挂账) whichever department wrote them")
    system: Code | None = Field(None, description="the system records of this kind are entered into; "
                                "default: recovery.target_system")


# Yingji's own kinds, which a plan gets when it lists none (their names are said in the reader's
# language, see recovery.kinds).
DEFAULT_RECORD_KINDS: list[dict[str, Any]] = [
    {"code": "registration", "name": "Registration"},
    {"code": "prescription", "name": "Prescription", "needs_clinician": True},
    {"code": "exam_request", "name": "Exam request", "needs_clinician": True},
    {"code": "lab_request", "name": "Lab request", "needs_clinician": True},
    {"code": "charge", "name": "Charge", "needs_amount": True},
    {"code": "medication", "name": "Medication administration", "needs_clinician": True},
    {"code": "admission", "name": "Admission", "inpatient": True},
    {"code": "discharge", "name": "Discharge", "inpatient": True},
]


class Recovery(Strict):
    """Back-entry (补录) after downtime: where records go back, which kinds there are, who settles
    insurance, who signs for finance, which insurance schemes exist."""

    target_system: Code | None = Field(None, description="system code the paper records are entered back "
                                       "into (HIS); default: the first core system")
    record_kinds: list[RecordKind] = Field(
        default_factory=lambda: [RecordKind.model_validate(k) for k in DEFAULT_RECORD_KINDS],
        min_length=1, description="the kinds of paper record, in the order the entry form offers them "
        "(its digit keys); default: registration, prescription, exam and lab requests, charge, "
        "medication, admission, discharge")
    settling_departments: list[Code] | None = Field(
        None, description="departments that settle insured records (退单重结, 挂账) for every department "
        "and see every department's records; default: the departments of kind finance and insurance")
    on_account_departments: list[Code] | None = Field(
        None, description="departments whose insured records are parked on account (挂账) instead of "
        "self-paid and re-settled; default: the departments of kind inpatient")
    finance_department: Code | None = Field(None, description="department whose lead co-signs every "
                                            "reconciliation (财务科)")
    insurance: list[InsuranceScheme] = Field([], description="the 医保 schemes patients can be under")
    restore_checks: list[Text] = Field([], description="what the engineer confirms before marking a fault "
                                       "restored (seed 000: a full test that the system has fully recovered; "
                                       "data restored from backup where needed); each must be ticked")


class Regulatory(Strict):
    """Reporting deadlines (2025 CAC rules, the 1994 police regulation, PIPL), counted from discovery."""

    police_within: Duration = Field(parse_duration("24h"), description="a case (案件) to the police")
    police_when: list[Security] = Field(["intrusion", "ransomware", "data_leak", "tampering"],
                                        description="security kinds that are reported to the police as a case")
    police_when_spread: list[Security] = Field(["virus"], description="security kinds reported to the police once "
                                               "they spread or do damage: reach beyond one workstation (seed 000: "
                                               "a virus infection with spread or damage)")
    police_approval: list[Role] = Field(["commander"], description="who approves the police report before it is "
                                        "recorded as sent (seed 000: 经有关领导同意后); empty: no approval step")
    cac_within: Duration = Field(parse_duration("4h"), description="first CAC report, 较大 or worse")
    cac_within_cii: Duration = Field(parse_duration("1h"), description="the same when hospital.cii is true")
    cac_grades: list[Code] = Field([], description="national grades that must be reported to the CAC")
    cac_followup_within: Duration = Field(parse_duration("24h"), description="the rest of a partial first CAC "
                                          "report (续报), after the first was sent")
    summary_within: Duration = Field(parse_duration("30d"), description="CAC final summary after handling ends")
    pipl_within: Duration = Field(parse_duration("24h"), description="PIPL notice after a personal-data leak "
                                  "(the law says 立即; this is the internal deadline)")


class SituationReports(Strict):
    """Reports on the situation to the leading group (seed 000: information source, scope of impact,
    nature, trend and proposed measures), drafted by Yingji and sent from the incident page."""

    to: list[str] = Field([], description="targets the report is sent to; empty: the leading group "
                          "(organization.leading_group, whatever its code)")


class BackupJob(Strict):
    """A backup the plan keeps (shown on the plan page; Yingji does not yet check that it ran)."""

    code: Code
    name: Text
    system: Code | None = Field(None, description="system code")
    target: Literal["local", "remote", "mobile_disk", "offline"] = Field(description="where the copy goes")
    schedule: Text = Field(description="e.g. daily, monthly, the 15th and the last day of each month")
    every: Duration = Field(description="how often it runs")
    grace: Duration = Field(parse_duration("6h"), description="how late a run may be")


class Maintenance(Strict):
    """Prevention: backups, checks, patrols, drills and reviews (shown on the plan page)."""

    backups: list[BackupJob] = []
    daily_checks: list[Text] = Field([], description="what the engineer on duty checks every day")
    patrol: list[Text] = Field([], description="machine-room patrol items")
    patrol_every: Duration = parse_duration("1h")
    ups_test_every: Duration = parse_duration("90d")
    drill_every: Duration = parse_duration("365d")
    plan_review_every: Duration = parse_duration("365d")
    training: list[Text] = []


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc}); e.g. his-.* or ^db-0[12]$") from None
    return value


LabelPattern = Annotated[str, StringConstraints(max_length=200), BeforeValidator(_regex)]
LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]


class MonitorRule(Strict):
    """Which plan system an alert is about, by its labels (Zabbix: host, host group and tags)."""

    system: Code = Field(description="the plan system the alerts matching this rule are about")
    labels: dict[LabelName, LabelPattern] = Field(description="label → regular expression the whole value must "
                                                  "match, e.g. {instance: \"his-.*\"}; every label given must match")


class WarningLevel(Strict):
    """A level of warning as the plan names it (seed 001: CPU above 90 % is an orange warning, a
    database service down is a red alarm)."""

    code: Code
    name: Text
    severities: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = Field(
        description="the monitors' severities (case-insensitive) that are this level: critical, disaster, "
        "5 (Zabbix), DOWN (Nagios)...")
    opens_incident: bool = Field(True, description="open (or join) an incident of the alert's system; "
                                 "otherwise only tell `notify`")
    notify: list[str] = Field([], description="targets told of each new alert of this level that opens no incident")


class Threshold(Strict):
    """A warning level by the value a monitor measured (seed 001: CPU above 90 % is an orange
    warning), for monitors that send one: Grafana's `values`, Zabbix's item value, generic JSON's
    `value`, an Alertmanager annotation `value` (`{{ $value }}` in the rule)."""

    labels: dict[LabelName, LabelPattern] = Field(description="which alerts: label → regular expression the whole "
                                                  "value must match, e.g. {alertname: \"HighCPU\"}")
    above: float = Field(description="the value above which an alert is this level, e.g. 90")
    level: Code = Field(description="a `levels` code")
    ref: Annotated[str, StringConstraints(max_length=40)] = Field(
        "", description="which of Grafana's `values` (its query's ref id, e.g. B); empty: the largest")


def _default_levels() -> list[WarningLevel]:
    return [
        WarningLevel(code="red", name="red alarm", severities=[
            "critical", "disaster", "high", "emergency", "alert", "error", "down", "unreachable", "5", "4"]),
        WarningLevel(code="orange", name="orange warning", opens_incident=False,
                     severities=["warning", "average", "3", "2"]),
    ]


class Monitoring(Strict):
    """Alerts from the monitors the hospital runs (Alertmanager, Grafana, Zabbix, Nagios/Icinga,
    any JSON): which system each is about, which warning level it is, and how a storm becomes one
    incident. A label `system` equal to a plan system code maps to that system whatever the rules say."""

    rules: list[MonitorRule] = Field([], description="first match wins")
    levels: list[WarningLevel] = Field(default_factory=_default_levels, description="most severe first; an "
                                       "alert whose severity no level names is the last level")
    group_wait: Duration = Field(parse_duration("30s"), description="how long the first alert of a system waits "
                                 "for the rest of the storm before its incident opens")
    group_interval: Duration = Field(parse_duration("5m"), description="alerts of a system arriving after its "
                                     "incident opened join it at once; this is how often they are told")
    repeat_interval: Duration = Field(parse_duration("4h"), description="an unchanged group is told again after this")
    scope: Scope = Field("partial", description="the scope of an incident an alert opens")
    thresholds: list[Threshold] = Field([], description="levels by the measured value where a monitor sends one, "
                                        "most severe first; an alert that matches a threshold's labels but is above "
                                        "none of them is the last level")
    resolve_restores: bool = Field(False, description="when every alert of an incident no person reported "
                                   "is resolved, the monitor marks it restored (the restore checks are recorded "
                                   "as not confirmed by a person); otherwise the engineer restores")

    def level(self, severity: str) -> WarningLevel | None:
        wanted = (severity or "").strip().lower()
        found = next((lv for lv in self.levels if wanted in (s.lower() for s in lv.severities)), None)
        return found or (self.levels[-1] if self.levels else None)

    def level_for(self, severity: str, labels: dict[str, str], values: dict[str, float]) -> WarningLevel | None:
        """By the measured value where a threshold is about this alert, else by the severity."""
        matching = [t for t in self.thresholds if all(re.fullmatch(pattern, labels.get(name, ""))
                                                      for name, pattern in t.labels.items())]
        measured = [t for t in matching if (t.ref in values) or (not t.ref and values)]
        if not measured:
            return self.level(severity)
        hit = next((t for t in measured if (values[t.ref] if t.ref else max(values.values())) > t.above), None)
        if hit is None:
            return self.levels[-1] if self.levels else None
        return next((lv for lv in self.levels if lv.code == hit.level), None)

    def system_for(self, labels: dict[str, str], systems: set[str]) -> str:
        """The plan system the labels name, or "" when no rule matches."""
        if labels.get("system") in systems:
            return labels["system"]
        for rule in self.rules:
            if all(re.fullmatch(pattern, labels.get(name, "")) for name, pattern in rule.labels.items()):
                return rule.system
        return ""


class Message(Strict):
    """The plan's wording of one message Yingji sends (`messages:`, by template name); placeholders
    in braces are filled in when it is sent."""

    subject: Text = Field(description="the mail subject (the title on other channels); at most 300 characters "
                          "are kept once filled in")
    body: Text


def message_errors(name: str, message: Message) -> list[tuple[tuple[Any, ...], str]]:
    """A plan's wording of a message: a template Yingji sends, with only the placeholders it fills
    in, and the acknowledgement link where it asks for an acknowledgement."""
    template = TEMPLATES.get(name)
    if template is None:
        return [(("messages", name), f"unknown message template; known: {', '.join(TEMPLATES)}")]
    errors: list[tuple[tuple[Any, ...], str]] = []
    used: list[str] = []
    for part in ("subject", "body"):
        try:
            names = placeholders_in(getattr(message, part))
        except ValueError as exc:
            errors.append((("messages", name, part), str(exc)))
            continue
        used += names
        for unknown in dict.fromkeys(n for n in names if n not in template.allowed):
            errors.append((("messages", name, part), f"{{{unknown}}} cannot be filled in for {name}; "
                           f"it has {', '.join('{' + p + '}' for p in template.allowed)}"))
    if template.ack and ACK not in used and not errors:
        errors.append((("messages", name, "body"), f"{name} asks to be acknowledged but has no {{{ACK}}}, "
                       f"its acknowledgement link; end the body with e.g. \"Acknowledge: {{{ACK}}}\""))
    return errors


class Plan(Strict):
    schema_: Literal["yingji/plan@1"] = Field("yingji/plan@1", alias="schema", description="the plan format")
    hospital: Hospital
    document: Document
    organization: Organization
    people: list[Person] = []
    departments: list[Department] = Field(min_length=1)
    external_contacts: list[ExternalContact] = []
    systems: list[System] = Field(min_length=1)
    grading: Grading
    treatment: list[Treatment] = []
    activation: list[Activation] = []
    timers: Timers = Field(default_factory=Timers)
    notifications: Notifications = Field(default_factory=Notifications)
    rosters: list[Roster] = []
    intake: Intake = Field(default_factory=Intake)
    procedures: list[Procedure] = []
    scenarios: list[Scenario] = []
    peak_hours: PeakHours | None = None
    maintenance: Maintenance = Field(default_factory=Maintenance)
    recovery: Recovery = Field(default_factory=Recovery)
    regulatory: Regulatory = Field(default_factory=Regulatory)
    situation_reports: SituationReports = Field(default_factory=SituationReports,
                                                description="reports on the situation to the leading group")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="alerts from the hospital's monitors")
    messages: dict[Code, Message] = Field({}, description="the plan's own wording of the messages Yingji sends, "
                                          "by template name; a template left out keeps Yingji's wording",
                                          json_schema_extra={"propertyNames": {"enum": list(TEMPLATES)}})
    rewards_and_penalties: list[Text] = Field([], description="奖惩: shown on the plan page")
    attachments: list[Text] = Field([], description="the annexes the binder holds (contact lists, network "
                                    "diagrams, blank paper forms), by title")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # -- lookups the app uses -------------------------------------------------------------

    def system(self, code: str) -> System | None:
        return next((s for s in self.systems if s.code == code), None)

    def department(self, code: str) -> Department | None:
        return next((d for d in self.departments if d.code == code), None)

    def scenario(self, code: str) -> Scenario | None:
        return next((s for s in self.scenarios if s.code == code), None)

    def person(self, code: str) -> Person | None:
        return next((p for p in self.people if p.code == code), None)

    def grade_name(self, scheme: str, code: str | None) -> str:
        """What the plan calls a grade of a scheme ("category", "DETECH" -> its name); the code
        itself when the scheme has no such grade."""
        found = getattr(self.grading, scheme, None) if scheme in SCHEME_ORDER else None
        grade = next((g for g in found.grades if g.code == code), None) if found is not None else None
        return grade.name if grade else code or ""

    def treatment_for(self, fault_class: str | None) -> Treatment | None:
        return next((t for t in self.treatment if t.fault_class == fault_class), None)

    def activation_for(self, level: str | None) -> Activation | None:
        return next((a for a in self.activation if a.level == level), None)

    def roster(self, code: str) -> Roster | None:
        return next((r for r in self.rosters if r.code == code), None)

    def roster_of_group(self, group: str) -> Roster | None:
        return next((r for r in self.rosters if r.group == group), None)

    def channel(self, code: str) -> Channel | None:
        return next((c for c in self.notifications.channels if c.code == code), None)

    def insurance(self, code: str) -> InsuranceScheme | None:
        return next((i for i in self.recovery.insurance if i.code == code), None)

    # -- back-entry ----------------------------------------------------------------------------

    def record_kind(self, code: str) -> RecordKind | None:
        return next((k for k in self.recovery.record_kinds if k.code == code), None)

    def backentry_system(self, kind: str = "") -> System:
        """Where paper records (of `kind`) are entered back: the kind's system, the plan's
        recovery.target_system, else the first core system, else the first system."""
        found = self.record_kind(kind) if kind else None
        code = (found.system if found else None) or self.recovery.target_system
        return (self.system(code) if code else None) or next(
            (s for s in self.systems if s.criticality == "core"), self.systems[0])

    def settling_departments(self) -> list[str]:
        """Who settles insured records for every department (finance and the 医保 office by default)."""
        if self.recovery.settling_departments is not None:
            return list(self.recovery.settling_departments)
        return [d.code for d in self.departments if d.kind in ("finance", "insurance")]

    def on_account_departments(self) -> list[str]:
        """Whose insured records are parked on account (挂账): the wards by default."""
        if self.recovery.on_account_departments is not None:
            return list(self.recovery.on_account_departments)
        return [d.code for d in self.departments if d.kind == "inpatient"]

    def contact(self, code: str) -> ExternalContact | None:
        return next((c for c in self.external_contacts if c.code == code), None)

    def contacts(self, codes: list[str]) -> list[ExternalContact]:
        """The external contacts a scenario (or anything) names, in its order; unknown codes skipped."""
        return [c for code in codes if (c := self.contact(code))]

    def procedure_for(self, department: str) -> Procedure | None:
        return next((p for p in self.procedures if p.department == department), None)

    def situation_report_targets(self) -> list[str]:
        return self.situation_reports.to or [f"group:{self.organization.leading_group.code}"]

    def summary(self) -> str:
        return (
            f"{self.hospital.name}: {len(self.people)} people, {len(self.organization.all_groups())} groups, "
            f"{len(self.departments)} departments, {len(self.systems)} systems, "
            f"{len(self.procedures)} department procedures, {len(self.scenarios)} scenarios"
        )

    # -- who the plan's targets reach --------------------------------------------------------

    def target_lists(self) -> list[tuple[tuple[Any, ...], list[str]]]:
        """Every list of notification targets in the plan, with its path."""
        lists: list[tuple[tuple[Any, ...], list[str]]] = []
        for i, treat in enumerate(self.treatment):
            lists += [(("treatment", i, "page"), treat.page), (("treatment", i, "escalation"), treat.escalation)]
        lists += [(("activation", i, "notify"), act.notify) for i, act in enumerate(self.activation)]
        for i, act in enumerate(self.activation):
            if act.report:
                lists += [(("activation", i, "report", "by"), act.report.by),
                          (("activation", i, "report", "to"), act.report.to)]
        lists += [(("timers", name), getattr(self.timers, name))
                  for name in ("on_site_breach", "fix_breach", "department_ack_breach")]
        lists += [(("timers", "modes", i, "notify"), m.notify) for i, m in enumerate(self.timers.modes)]
        lists += [(("scenarios", i, "notify"), s.notify) for i, s in enumerate(self.scenarios)]
        lists += [(("situation_reports", "to"), self.situation_reports.to)]  # empty: the leading group
        lists += [(("monitoring", "levels", i, "notify"), lv.notify) for i, lv in enumerate(self.monitoring.levels)]
        return lists

    def silent_target(self, target: str) -> str | None:
        """Why a target reaches nobody whatever the day (a department without a head, a group with
        no members, a role nobody holds), or None when it reaches someone."""
        match = TARGET_RE.match(target)
        if not match:
            return None
        kind, code = match[1], match[2]
        group = next((g for g in self.organization.all_groups() if g.code == code), None)
        if kind == "department" and (found := self.department(code)) is not None and not found.lead:
            return f"department {code!r} ({found.name}) has no lead: nobody is told"
        if kind in ("group", "oncall") and group is not None and not self.roster_of_group(code) \
                and not any((group.leader, *group.deputies, *group.members)):
            return f"group {code!r} ({group.name}) has no leader, deputies or members: nobody is told"
        if kind == "role" and not any(p.role == code for p in self.people):
            return f"nobody in the plan holds role {code!r}: nobody is told"
        return None

    def target_warnings(self) -> list[tuple[tuple[Any, ...], str]]:
        """(path, message) for each target that reaches nobody, and each oncall: of a group without
        a roster (its leader answers instead of someone on duty). The plan is still valid."""
        warnings = []
        for path, targets in self.target_lists():
            for i, target in enumerate(targets):
                why = self.silent_target(target)
                match = TARGET_RE.match(target)
                if why is None and match and match[1] == "oncall" and not self.roster_of_group(match[2]):
                    why = f"group {match[2]!r} has no roster: its leader is paged instead of someone on duty"
                if why:
                    warnings.append(((*path, i), why))
        return warnings

    # -- cross-references ------------------------------------------------------------------

    def reference_errors(self) -> list[tuple[tuple[Any, ...], str]]:
        """Every dangling or duplicated code, as (path, message), in file order."""
        errors: list[tuple[tuple[Any, ...], str]] = []

        def unique(items: list[Any], path: tuple[Any, ...], what: str) -> set[str]:
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.code in seen:
                    errors.append(((*path, i, "code"), f"duplicate {what} code {item.code!r}"))
                seen.add(item.code)
            return seen

        people = unique(self.people, ("people",), "person")
        departments = unique(self.departments, ("departments",), "department")
        contacts = unique(self.external_contacts, ("external_contacts",), "external contact")
        systems = unique(self.systems, ("systems",), "system")
        channels = unique(self.notifications.channels, ("notifications", "channels"), "channel")
        groups_list = self.organization.all_groups()
        group_paths: list[tuple[Any, ...]] = [
            ("organization", "leading_group"),
            ("organization", "office"),
            *[("organization", "groups", i) for i in range(len(self.organization.groups))],
        ]
        groups: set[str] = set()
        for group, path in zip(groups_list, group_paths, strict=True):
            if group.code in groups:
                errors.append(((*path, "code"), f"duplicate group code {group.code!r}"))
            groups.add(group.code)
        unique(self.scenarios, ("scenarios",), "scenario")

        def ref(code: str | None, known: set[str], path: tuple[Any, ...], what: str) -> None:
            if code is not None and code not in known:
                errors.append((path, f"unknown {what} {code!r}"))

        def refs(codes: list[str], known: set[str], path: tuple[Any, ...], what: str) -> None:
            for i, code in enumerate(codes):
                ref(code, known, (*path, i), what)

        def targets(values: list[str], path: tuple[Any, ...]) -> None:
            known = {"person": people, "group": groups, "oncall": groups, "department": departments,
                     "role": set(ROLES)}
            for i, value in enumerate(values):
                match = TARGET_RE.match(value)
                if not match:
                    errors.append(((*path, i), f"{value!r} is not a target; write person:CODE, role:ROLE, "
                                   "group:CODE, oncall:GROUP or department:CODE"))
                elif match[2] not in known[match[1]]:
                    errors.append(((*path, i), f"unknown {match[1]} {match[2]!r}"))

        refs(self.notifications.default_channels, channels, ("notifications", "default_channels"), "channel")
        for i, person in enumerate(self.people):
            ref(person.department, departments, ("people", i, "department"), "department")
            ref(person.deputy, people, ("people", i, "deputy"), "person")
            refs(person.channels or [], channels, ("people", i, "channels"), "channel")
        for group, path in zip(groups_list, group_paths, strict=True):
            ref(group.leader, people, (*path, "leader"), "person")
            refs(group.deputies, people, (*path, "deputies"), "person")
            refs(group.members, people, (*path, "members"), "person")
        for i, dept in enumerate(self.departments):
            ref(dept.lead, people, ("departments", i, "lead"), "person")
        for i, contact in enumerate(self.external_contacts):
            refs(contact.systems, systems, ("external_contacts", i, "systems"), "system")
        for i, system in enumerate(self.systems):
            ref(system.owner, departments, ("systems", i, "owner"), "department")
            ref(system.vendor, contacts, ("systems", i, "vendor"), "external contact")
            refs(system.depends_on, systems, ("systems", i, "depends_on"), "system")
            refs(system.departments, departments, ("systems", i, "departments"), "department")

        faults = unique(self.grading.faults, ("grading", "faults"), "fault")
        grade_codes: dict[str, set[str]] = {}
        for name, scheme in self.grading.schemes():
            path = ("grading", name)
            grade_codes[name] = unique(scheme.grades, (*path, "grades"), "grade")
            if sum(g.default for g in scheme.grades) > 1:
                errors.append(((*path, "grades"), "only one grade may be the default"))
            for g, grade in enumerate(scheme.grades):
                if not grade.when and not grade.default and not grade.manual:
                    errors.append(((*path, "grades", g, "code"),
                                   "a grade needs when: conditions, default: true or manual: true"))
                for c, cond in enumerate(grade.when):
                    refs(cond.systems or [], systems, (*path, "grades", g, "when", c, "systems"), "system")
                    refs(cond.faults or [], faults, (*path, "grades", g, "when", c, "faults"), "fault")

        for i, treat in enumerate(self.treatment):
            ref(treat.fault_class, grade_codes["fault_class"], ("treatment", i, "fault_class"), "fault class")
            targets(treat.page, ("treatment", i, "page"))
            targets(treat.escalation, ("treatment", i, "escalation"))
        for name in ("on_site_breach", "fix_breach", "department_ack_breach"):
            targets(getattr(self.timers, name), ("timers", name))
        for i, rule in enumerate(self.timers.fix_escalation):
            for key in ("grade", "raise_to"):
                ref(getattr(rule, key), grade_codes[rule.scheme], ("timers", "fix_escalation", i, key),
                    rule.scheme.replace("_", " "))
        for i, act in enumerate(self.activation):
            ref(act.level, grade_codes["response_level"], ("activation", i, "level"), "response level")
            targets(act.notify, ("activation", i, "notify"))
            if act.report:
                targets(act.report.by, ("activation", i, "report", "by"))
                targets(act.report.to, ("activation", i, "report", "to"))
            if act.departments != "all":
                refs(act.departments, departments, ("activation", i, "departments"), "department")
        for i, switch in enumerate(self.timers.modes):
            refs(switch.systems, systems, ("timers", "modes", i, "systems"), "system")
            refs(switch.departments, departments, ("timers", "modes", i, "departments"), "department")
            targets(switch.notify, ("timers", "modes", i, "notify"))
        seen_procedures: set[str] = set()
        for i, proc in enumerate(self.procedures):
            ref(proc.department, departments, ("procedures", i, "department"), "department")
            if proc.department in seen_procedures:
                errors.append((("procedures", i, "department"), f"duplicate procedure for {proc.department!r}"))
            seen_procedures.add(proc.department)
        for i, proc in enumerate(self.procedures):
            for path, owner in proc.checklist.owners():
                ref(owner, people, ("procedures", i, "checklist", *path), "person")
        for i, scenario in enumerate(self.scenarios):
            for path, owner in scenario.checklist.owners():
                ref(owner, people, ("scenarios", i, "checklist", *path), "person")
            for m, scenario_mode in enumerate(scenario.modes):
                if scenario_mode.departments != "reporting":
                    refs(scenario_mode.departments, departments, ("scenarios", i, "modes", m, "departments"),
                         "department")
            targets(scenario.notify, ("scenarios", i, "notify"))
            refs(scenario.contacts, contacts, ("scenarios", i, "contacts"), "external contact")
            for c, cond in enumerate(scenario.applies_when):
                refs(cond.systems or [], systems, ("scenarios", i, "applies_when", c, "systems"), "system")
                refs(cond.faults or [], faults, ("scenarios", i, "applies_when", c, "faults"), "fault")
        targets(self.situation_reports.to, ("situation_reports", "to"))
        for i, monitor_rule in enumerate(self.monitoring.rules):
            ref(monitor_rule.system, systems, ("monitoring", "rules", i, "system"), "system")
        unique(self.monitoring.levels, ("monitoring", "levels"), "warning level")
        for i, level in enumerate(self.monitoring.levels):
            targets(level.notify, ("monitoring", "levels", i, "notify"))
        level_codes = {lv.code for lv in self.monitoring.levels}
        for i, threshold in enumerate(self.monitoring.thresholds):
            ref(threshold.level, level_codes, ("monitoring", "thresholds", i, "level"), "warning level")
        unique(self.rosters, ("rosters",), "roster")
        for i, roster in enumerate(self.rosters):
            ref(roster.group, groups, ("rosters", i, "group"), "group")
            refs(roster.members, people, ("rosters", i, "members"), "person")
        ref(self.recovery.finance_department, departments, ("recovery", "finance_department"), "department")
        ref(self.recovery.target_system, systems, ("recovery", "target_system"), "system")
        unique(self.recovery.record_kinds, ("recovery", "record_kinds"), "record kind")
        for i, kind in enumerate(self.recovery.record_kinds):
            ref(kind.system, systems, ("recovery", "record_kinds", i, "system"), "system")
        for name in ("settling_departments", "on_account_departments"):
            refs(getattr(self.recovery, name) or [], departments, ("recovery", name), "department")
        unique(self.recovery.insurance, ("recovery", "insurance"), "insurance scheme")
        for i, insurance in enumerate(self.recovery.insurance):
            ref(insurance.center, contacts, ("recovery", "insurance", i, "center"), "external contact")
        refs(self.regulatory.cac_grades, grade_codes["national_grade"], ("regulatory", "cac_grades"),
             "national grade")
        for i, job in enumerate(self.maintenance.backups):
            ref(job.system, systems, ("maintenance", "backups", i, "system"), "system")
        for name, message in self.messages.items():
            errors += message_errors(name, message)
        return errors


def _serialized(core: Any, value: Any) -> Any:
    """A default as the plan writes it: through the type's own serializer (5m, not 300; 08:00)."""
    serializer = (core or {}).get("serialization") or {}
    if serializer.get("type") == "function-plain":
        return serializer["function"](value)
    if (core or {}).get("type") == "list" and isinstance(value, list):
        return [_serialized(core.get("items_schema"), item) for item in value]
    return value


class _PlanJsonSchema(GenerateJsonSchema):
    def default_schema(self, schema: Any) -> JsonSchemaValue:
        out = super().default_schema(schema)
        if "default" in out and "default" in schema:
            out["default"] = self.encode_default(_serialized(schema.get("schema"), schema["default"]))
        return out


def json_schema() -> dict[str, Any]:
    schema = Plan.model_json_schema(by_alias=True, schema_generator=_PlanJsonSchema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://yingji.example/schema/plan-1.json"
    schema["title"] = "Yingji emergency plan"
    return schema
