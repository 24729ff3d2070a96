"""docs/plan.md, written from the schema: every section and field of a plan, the message
templates, how targets and durations are written. `yingji plan docs -o docs/plan.md` writes it;
`tests/test_plan_docs.py` fails when the page and the schema disagree.

Types, allowed values and patterns come from `json_schema()`, the contract editors check against;
defaults from the models, as a plan writes them; examples from the shipped English plan.
"""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from django.utils import translation
from pydantic import BaseModel, TypeAdapter

from yingji.notify.templates import ALWAYS, PLACEHOLDERS, TEMPLATES

from . import schema
from .durations import PATTERN as DURATION_PATTERN
from .loader import CODE_RULE, PHONE_RULE, parse_plan, template_text

SCHEMA = schema.json_schema()
DEFS: dict[str, Any] = SCHEMA["$defs"]
MODELS: dict[str, type[BaseModel]] = {
    name: obj for name, obj in vars(schema).items()
    if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == schema.__name__}
CODE_PATTERN = DEFS["Hospital"]["properties"]["code"]["pattern"]
PHONE_PATTERN = DEFS["Person"]["properties"]["mobile"]["anyOf"][0]["pattern"]
CLOCK_PATTERN = DEFS["Roster"]["properties"]["handover"]["pattern"]
# Where the plan lists targets (plain strings to the JSON Schema): treatment[].page, ...
TARGET_FIELDS = {tuple("[]" if isinstance(part, int) else part for part in path)
                 for path, _targets in parse_plan(template_text("en")).target_lists()}
# The fields every kind of thing has; said once here rather than on each model.
GENERIC = {"code": "the code the rest of the plan refers to it by", "name": "its name, as people read it"}

TARGETS = (
    ("person:CODE", "that person (`people[].code`)"),
    ("role:ROLE", "everyone in `people` whose `role` is ROLE: " + ", ".join(f"`{r}`" for r in schema.ROLES)),
    ("group:CODE", "the group's leader, deputies and members (`organization`)"),
    ("oncall:GROUP", "whoever the group's roster has on duty when the message is written; the group's first "
                     "person (its leader) when it has no roster"),
    ("department:CODE", "the department's `lead`"),
)


def anchor(model: str) -> str:
    return model.lower()


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def flow(value: Any, limit: int = 60) -> str:
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("...").strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def type_of(prop: dict[str, Any]) -> str:
    """A JSON Schema property as a person reads it, with its allowed values and bounds."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{anchor(name)})"
    if "anyOf" in prop:
        return " or ".join(type_of(p) for p in prop["anyOf"] if p.get("type") != "null")
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    kind = prop.get("type")
    if kind == "array":
        least = f", at least {prop['minItems']}" if prop.get("minItems") else ""
        return f"list of {type_of(prop['items'])}{least}"
    if kind == "object":
        names = prop.get("propertyNames", {}).get("enum")
        values = next(iter(prop.get("patternProperties", {}).values()), prop.get("additionalProperties", {}))
        keys = "a [template name](#message-templates)" if names else "name"
        return f"mapping of {keys} to {type_of(values)}"
    if kind == "string":
        pattern = prop.get("pattern")
        named = {CODE_PATTERN: "[code](#codes-and-text)", DURATION_PATTERN: "[duration](#durations)",
                 CLOCK_PATTERN: "time `HH:MM`", PHONE_PATTERN: "[phone](#codes-and-text)"}.get(pattern or "")
        if named:
            return named
        if prop.get("format") == "date":
            return "date `YYYY-MM-DD`"
        if prop.get("maxLength") == 2000:
            return "[text](#codes-and-text)"
        return "string"
    if kind == "boolean":
        return "`true` or `false`"
    if kind == "integer":
        low, high = prop.get("minimum"), prop.get("maximum")
        return "whole number" + (f" {low}–{high:,}" if low is not None and high is not None else "")
    return str(kind or "any")


def _default(model: type[BaseModel], field: str) -> str:
    info = model.model_fields[field]
    if info.is_required():
        return "**required**"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "its defaults"
    if value is None:
        return ""
    annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return f"`{flow(TypeAdapter(annotation).dump_python(value, mode='json'), 40)}`"


def _find(node: Any, path: tuple[Any, ...]) -> Any:
    """The first value at `path`, where `[]` stands for any item of a list."""
    if not path:
        return node
    head, rest = path[0], path[1:]
    if head == "[]":
        return next((v for item in (node if isinstance(node, list) else []) if (v := _find(item, rest)) is not None),
                    None)
    if head == "{}":
        return next((v for item in (node.values() if isinstance(node, dict) else []) if (v := _find(item, rest))
                     is not None), None)
    return _find(node[head], rest) if isinstance(node, dict) and head in node else None


def _example(shipped: Any, paths: list[tuple[str, ...]], field: str, prop: dict[str, Any]) -> str:
    if "$ref" in prop or "$ref" in prop.get("items", {}) or prop.get("type") == "object":
        return ""  # a section of its own
    value = next((v for path in paths if (v := _find(shipped, (*path, field))) is not None), None)
    if value is None or isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
        return ""
    return f"`{cell(flow(value))}`"


def _walk() -> list[tuple[str, list[tuple[str, ...]]]]:
    """Every model below Plan, in the order a reader meets it, with the paths it is found at."""
    order: list[str] = []
    paths: dict[str, list[tuple[str, ...]]] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        first = name not in paths
        paths.setdefault(name, []).append(path)
        if first:
            order.append(name)
        for field, prop in DEFS[name]["properties"].items():
            for ref, suffix in _refs(prop):
                if len(path) < 8 and (first or ref != name):
                    visit(ref, (*path, field, *suffix))

    for field, prop in SCHEMA["properties"].items():
        for ref, suffix in _refs(prop):
            visit(ref, (field, *suffix))
    return [(name, paths[name]) for name in order]


def _refs(prop: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """The models a property holds, each with what comes between it and the model ([] for a list item)."""
    if "$ref" in prop:
        return [(prop["$ref"].rsplit("/", 1)[1], ())]
    found: list[tuple[str, tuple[str, ...]]] = []
    for option in prop.get("anyOf", []):
        found += _refs(option)
    if "items" in prop:
        found += [(ref, ("[]", *rest)) for ref, rest in _refs(prop["items"])]
    for value in prop.get("patternProperties", {}).values():
        found += [(ref, ("{}", *rest)) for ref, rest in _refs(value)]
    return found


def _where(path: tuple[str, ...]) -> str:
    out = ""
    for part in path:
        out += {"[]": "[]", "{}": ".NAME"}.get(part) or (f".{part}" if out else part)
    return f"`{out}`"


def _table(name: str, paths: list[tuple[str, ...]], shipped: Any) -> list[str]:
    model, definition = MODELS[name], DEFS[name]
    lines = ["| field | type | default | description | example |", "|---|---|---|---|---|"]
    for field, prop in definition["properties"].items():
        python_name = next(k for k, f in model.model_fields.items() if (f.alias or k) == field)
        about = prop.get("description") or GENERIC.get(field, "")
        kind = "list of [targets](#targets)" if any((*p, field) in TARGET_FIELDS for p in paths) else type_of(prop)
        lines.append(f"| `{field}` | {kind} | {_default(model, python_name)} | {cell(about)} | "
                     f"{_example(shipped, paths, field, prop)} |")
    return lines


def _intro() -> list[str]:
    return [
        "# Writing a plan",
        "",
        "Generated from the plan schema (`yingji/plans/schema.py`) and the message templates",
        "(`yingji/notify/templates.py`) by `yingji plan docs -o docs/plan.md`; `tests/test_plan_docs.py`",
        "fails when this page is out of date. Examples are from the shipped English plan",
        "(`yingji plan template en`; `yingji plan template zh` is the Chinese one).",
        "",
        "A plan is one YAML file, format `yingji/plan@1`. Start from a shipped plan rather than from nothing,",
        "check it with `yingji plan validate FILE` (every error as `FILE:LINE: path.to.field: message`, with",
        "what a right value looks like; warnings, such as a target that reaches nobody, the same way), and",
        "store it with `yingji plan import FILE --publish`. `yingji plan schema` writes the JSON Schema for",
        "an editor's completion. A key the format does not have is an error, so a misspelt key is never",
        "silently ignored; codes must resolve (a rule naming an unknown system is an error) and be unique.",
        "",
        "- [Codes and text](#codes-and-text), [durations](#durations), [targets](#targets),",
        "  [message templates](#message-templates)",
        "- Sections: " + ", ".join(f"[`{field}`](#{anchor(ref)})" for field, prop in SCHEMA["properties"].items()
                                  for ref, _suffix in _refs(prop)[:1]),
        "",
    ]


def _values() -> list[str]:
    return [
        "## Codes and text",
        "",
        "| written as | what it is | e.g. |",
        "|---|---|---|",
        f"| code | {cell(CODE_RULE)}; how one part of the plan names another | `HIS`, `eng-duty`, `120` |",
        "| text | 1 to 2,000 characters (a list item or a name) | `Emergency department` |",
        f"| phone | {cell(PHONE_RULE)}; YAML reads `010…` without quotes as a number | `\"010-00000000\"` |",
        "| time | a local wall-clock time, `HH:MM`, in quotes: YAML reads `11:00` without them as the number 660 "
        "| `\"08:00\"` |",
        "| date | `YYYY-MM-DD` | `2026-01-05` |",
        "| duration | see [durations](#durations) | `5m` |",
        "| target | see [targets](#targets) | `oncall:technical` |",
        "",
        "## Durations",
        "",
        "A number with a unit: `s` seconds, `m` minutes, `h` hours, `d` days, `w` weeks. Parts add up, largest",
        "first by convention: `1h30m` is 90 minutes. A bare whole number is seconds (`300`), but a number in",
        "quotes without a unit (`\"30\"`) is an error, so nothing is a guess. At most ten years (`3650d`).",
        "Examples: `30s`, `5m`, `3h`, `1d`, `1h30m`, `2w`.",
        "",
        "## Targets",
        "",
        "Who a page or notice goes to is a list of targets, at "
        + ", ".join(f"`{_where(path)[1:-1]}`" for path in sorted(TARGET_FIELDS)) + ".",
        "They are resolved when the message is written, so `oncall:` reaches whoever is on duty then.",
        "",
        "| target | reaches |",
        "|---|---|",
        *[f"| `{target}` | {cell(reaches)} |" for target, reaches in TARGETS],
        "",
        "A target that reaches nobody whatever the day (a department without a lead, a group with nobody in it,",
        "a role nobody holds) is a warning of `yingji plan validate`, and at run time the office is told who",
        "could not be reached.",
        "",
    ]


def _messages() -> list[str]:
    with translation.override("en"):
        wording = {name: (str(t.subject), str(t.body)) for name, t in TEMPLATES.items()}
    sample = {k: v for k, v in (yaml.safe_load(template_text("en")).get("messages") or {}).items() if k == "page"}
    lines = [
        "## Message templates",
        "",
        "Everything Yingji says to people is one of these templates. A plan may reword any of them under",
        "`messages:` (a `subject` and a `body` each); one it leaves out keeps Yingji's wording, in the",
        "plan's language. Placeholders in braces are filled in when the message is written; a wording may",
        "use only its template's placeholders (write a brace itself as `{{` or `}}`), and a template that",
        "asks to be acknowledged must carry `{url}`, its acknowledgement link. `yingji plan validate` names",
        "any other template, any other placeholder, and a missing link, with its line.",
        "",
        "```yaml",
        yaml.safe_dump({"messages": sample}, allow_unicode=True, sort_keys=False, width=10_000).strip(),
        "```",
        "",
        "| template | sent when | asks for an acknowledgement | placeholders |",
        "|---|---|---|---|",
    ]
    for name, template in TEMPLATES.items():
        names = ", ".join(f"`{{{p}}}`" for p in template.allowed)
        lines.append(f"| `{name}` | {cell(template.when)} | {'yes' if template.ack else ''} | {names} |")
    lines += ["", f"Every template has {', '.join(f'`{{{p}}}`' for p in ALWAYS)}. What each placeholder holds:", "",
              "| placeholder | holds |", "|---|---|"]
    lines += [f"| `{{{name}}}` | {cell(about)} |" for name, about in PLACEHOLDERS.items()]
    lines += ["", "Yingji's own wording (English; the Chinese is in the zh_Hans catalog):", "",
              "| template | subject | body |", "|---|---|---|"]
    lines += [f"| `{name}` | {cell(subject)} | {cell(body)} |" for name, (subject, body) in wording.items()]
    return [*lines, ""]


def _sections() -> list[str]:
    shipped = yaml.safe_load(template_text("en"))
    lines = ["## The plan's sections", "",
             "| section | type | default | description |", "|---|---|---|---|"]
    for field, prop in SCHEMA["properties"].items():
        python_name = next(k for k, f in schema.Plan.model_fields.items() if (f.alias or k) == field)
        refs = _refs(prop)
        about = prop.get("description") or (DEFS[refs[0][0]].get("description", "") if refs else "")
        lines.append(f"| `{field}` | {type_of(prop)} | {_default(schema.Plan, python_name)} | "
                     f"{cell(about.split(chr(10) * 2)[0])} |")
    lines.append("")
    for name, paths in _walk():
        doc = DEFS[name].get("description", "")
        lines += [f"### {name}", "", "At " + ", ".join(_where(p) for p in paths) + ".", ""]
        if doc:
            lines += [" ".join(doc.split("\n\n")[0].split()), ""]
        lines += [*_table(name, paths, shipped), ""]
    return lines


def markdown() -> str:
    return "\n".join([*_intro(), *_values(), *_messages(), *_sections()]).rstrip("\n") + "\n"
