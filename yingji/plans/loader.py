"""Read a plan file and say exactly where it is wrong: FILE:LINE: path.to.field: message."""

from __future__ import annotations

import difflib
import re
import typing
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .schema import Code, Phone, Plan


@dataclass(frozen=True)
class PlanError:
    line: int
    path: str
    message: str

    def format(self, filename: str) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{filename}:{self.line}: {where}{self.message}"


class PlanInvalid(Exception):
    def __init__(self, errors: list[PlanError]):
        self.errors = errors
        super().__init__("; ".join(e.format("plan") for e in errors[:3]))

    def format(self, filename: str) -> str:
        return "\n".join(e.format(filename) for e in self.errors)


def dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _LineIndex:
    """Maps a path in the data to the line of its YAML node (1-based)."""

    def __init__(self, root: yaml.Node | None):
        self.root = root

    def text(self, path: tuple[Any, ...]) -> str | None:
        """A scalar as written in the file ("010", where YAML read the octal number 8)."""
        node = self.root
        for part in path:
            found = self._child(node, part) if node is not None else None
            node = found[1] if found else None
        return node.value if isinstance(node, yaml.ScalarNode) else None

    def line(self, path: tuple[Any, ...]) -> int:
        node = self.root
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for part in path:
            child = self._child(node, part)
            if child is None:  # a missing field: point at its parent
                break
            line, node = child
        return line

    @staticmethod
    def _child(node: yaml.Node, part: Any) -> tuple[int, yaml.Node] | None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    return key.start_mark.line + 1, value
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            item = node.value[part]
            return item.start_mark.line + 1, item
        return None


def _yaml_traps(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> list[PlanError]:
    """What PyYAML would change without a word. It keeps the last of two equal keys, and a plan must
    not lose a line that way; and YAML 1.1 reads an unquoted 11:00 as the number 660 (base 60),
    which pydantic would then take as the time 00:11."""
    errors: list[PlanError] = []
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:int" and ":" in node.value:
        errors.append(PlanError(node.start_mark.line + 1, dotted(path), f"YAML reads {node.value} as the number "
                                f"{yaml.safe_load(node.value)}; put it in quotes: \"{node.value}\""))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                errors.append(PlanError(key.start_mark.line + 1, dotted((*path, key.value)),
                                        f"duplicate key {key.value!r}"))
            seen.add(key.value)
            errors += _yaml_traps(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            errors += _yaml_traps(item, (*path, i))
    return errors


# -- pydantic's errors, said with what a correct value looks like ------------------------------


def _pattern_of(annotated: Any) -> str:
    return next(m.pattern for m in typing.get_args(annotated)[1:] if getattr(m, "pattern", None))


CODE_RULE = "1 to 40 letters (A-Z, a-z), digits, '_', '.' or '-', starting with a letter or digit"
PHONE_RULE = "3 to 30 digits, spaces and + ( ) -, in quotes"
_PATTERN_WORDS = {
    _pattern_of(Code): f"is not a code: {CODE_RULE}, e.g. HIS, eng-duty or 120",
    _pattern_of(Phone): f"is not a phone number: {PHONE_RULE}, e.g. \"010-00000000\"",
}


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, directly or in a list, a dict's values or an Optional."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if (found := _inner_model(arg)) is not None:
            return found
    return None


def _field(model: type[BaseModel], key: Any) -> Any:
    return next((f for name, f in model.model_fields.items() if key in (name, f.alias)), None)


def _holds(annotation: Any, container: type) -> bool:
    """Whether a field is a list (or dict) of something, Optional or not."""
    return typing.get_origin(annotation) is container or any(
        typing.get_origin(arg) is container for arg in typing.get_args(annotation))


def _model_at(path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model of the mapping at `path` in a plan (Plan for ()), or None."""
    model: type[BaseModel] | None = Plan
    keyed = False  # the last field was a dict: the next part is its key, not a field
    for part in path:
        if model is None:
            return None
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        field = _field(model, part)
        if field is None:
            return None
        model, keyed = _inner_model(field.annotation), _holds(field.annotation, dict)
    return None if keyed else model


def _names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


@lru_cache(maxsize=2)
def _shipped(language: str) -> Any:
    return yaml.safe_load(template_text(language))


def _find(node: Any, path: tuple[Any, ...]) -> Any:
    """The value at `path` in the shipped plan, any list item standing for an index; None if absent."""
    if not path:
        return node
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = node if isinstance(node, list) else []
        return next((v for item in items if (v := _find(item, rest)) is not None), None)
    return _find(node[head], rest) if isinstance(node, dict) and head in node else None


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("\n...").strip()
    return text if len(text) <= 60 else text[:57] + "…"


def _example(path: tuple[Any, ...], language: str) -> str:
    """How the shipped plan (in the plan's language) writes the field at `path`, for a missing one."""
    key = path[-1]
    parent = _model_at(path[:-1])
    annotation = getattr(_field(parent, key) if parent is not None else None, "annotation", None)
    if (inner := _inner_model(annotation)) is not None:
        required = ", ".join(f"{name}:" for name, f in inner.model_fields.items() if f.is_required())
        return f"{key}: a list of items with {required}" if _holds(annotation, list) \
            else f"{key}: with {required} under it"
    value = _find(_shipped(language), path)
    return f"{key}: {_flow(value)}" if value is not None and not isinstance(value, dict) else ""


def _pydantic_message(error: Any, language: str = "zh", written: str | None = None) -> str:
    """pydantic's error said for a plan's author: what is wrong and what a right value looks like.
    `written` is the value as the file spells it."""
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    path = _pydantic_path(tuple(error["loc"]))
    shown = value.isoformat() if isinstance(value, date) else repr(value) if len(repr(value)) <= 40 else "this"
    if kind == "extra_forbidden":
        model = _model_at(path[:-1])
        if model is None:
            return "unknown field"
        names = _names(model)
        close = difflib.get_close_matches(str(path[-1]), names, n=1, cutoff=0.6)
        return f"unknown field; did you mean {close[0]}?" if close else f"unknown field; known: {', '.join(names)}"
    if kind == "missing":
        example = _example(path, language)
        return f"field required, e.g. {example}" if example else "field required"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_WORDS:
        return f"{shown} {_PATTERN_WORDS[ctx['pattern']]}"
    if kind in ("literal_error", "enum"):
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"{shown} is not allowed; one of: {', '.join(allowed)}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{shown} is not a yes/no value; write true or false"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{shown} is not a whole number; write one like 3"
    if kind == "string_type" and isinstance(value, (int, float, bool, date)):
        read_as = "a date" if isinstance(value, date) else "true or false" if isinstance(value, bool) else "a number"
        written = written or str(value)
        return f"{written} is read as {read_as}, not text; put it in quotes: \"{written}\""
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} item(s)"
    if kind == "list_type":
        return f"{shown} is not a list; write [a, b], or one \"- item\" per line"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{shown} is not a mapping; write its fields as \"key: value\" lines indented under it"
    if kind.startswith("date"):
        return f"{shown} is not a date; write one like 2026-01-05"
    if kind.startswith("time"):
        return f"{shown} is not a time of day; write one like 08:00"
    return str(error["msg"]).removeprefix("Value error, ")


def _merge_unions(errors: list[PlanError]) -> list[PlanError]:
    """A value that fits no branch of a union (a list of codes, or "all") gets one error per
    branch at the same place; say them as one."""
    merged: dict[tuple[int, str], PlanError] = {}
    for error in errors:
        key = (error.line, error.path)
        if key in merged:
            merged[key] = PlanError(error.line, error.path, f"{merged[key].message}; or {error.message}")
        else:
            merged[key] = error
    return list(merged.values())


def _pydantic_path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union/type tags from a location, keeping field names and indexes."""
    out: list[Any] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in ("literal['all']", "function-after")):
            continue
        out.append("schema" if part == "schema_" else part)
    return tuple(out)


# Bounds checked before the data is built: a plan is a few hundred KB. Aliases are allowed (a
# contact list written once), but not a "billion laughs" of aliases of aliases, which is a few
# hundred bytes of YAML that expands to 10^9 nodes and would hold the process for hours.
MAX_PLAN_BYTES = 2 * 1024 * 1024
MAX_ALIASES = 1000
MAX_EXPANDED_NODES = 200_000


def _check_bounds(text: str) -> None:
    if len(text.encode("utf-8")) > MAX_PLAN_BYTES:
        raise PlanInvalid([PlanError(1, "", f"the plan is larger than {MAX_PLAN_BYTES // 1024} KB")])
    aliases = 0
    for event in yaml.parse(text):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                line = event.start_mark.line + 1 if event.start_mark else 1
                raise PlanInvalid([PlanError(line, "",
                                             f"more than {MAX_ALIASES} aliases (*name); write the values out")])


def _check_expansion(root: yaml.Node | None) -> None:
    """Count the nodes the data will have once every alias is expanded, without expanding them."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            if sizes[key] < 0:
                raise PlanInvalid([PlanError(node.start_mark.line + 1, "", "an alias refers to itself")])
            return sizes[key]
        if depth > 100:
            raise PlanInvalid([PlanError(node.start_mark.line + 1, "", "nested more than 100 levels deep")])
        sizes[key] = -1
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        if total > MAX_EXPANDED_NODES:
            raise PlanInvalid([PlanError(node.start_mark.line + 1, "", f"expands to more than "
                                         f"{MAX_EXPANDED_NODES:,} values (aliases of aliases?)")])
        sizes[key] = total
        return total

    if root is not None:
        size(root, 0)


def parse_plan(text: str) -> Plan:
    """Parse and validate; raise PlanInvalid with every error found."""
    try:
        _check_bounds(text)
        root = yaml.compose(text)
        _check_expansion(root)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise PlanInvalid([PlanError(line, "", f"YAML syntax error: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise PlanInvalid([PlanError(1, "", f"YAML error: {exc}")]) from None
    index = _LineIndex(root)
    errors = _yaml_traps(root)
    if not isinstance(data, dict):
        raise PlanInvalid([*errors, PlanError(1, "", "a plan is a YAML mapping with hospital:, organization:, ...")])
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        hospital = data.get("hospital")
        language = "en" if isinstance(hospital, dict) and hospital.get("language") == "en" else "zh"
        shape = []
        for err in exc.errors():
            path = _pydantic_path(tuple(err["loc"]))
            shape.append(PlanError(index.line(path), dotted(path), _pydantic_message(err, language, index.text(path))))
        raise PlanInvalid(sorted(errors + _merge_unions(shape), key=lambda e: e.line)) from None
    errors += [PlanError(index.line(path), dotted(path), msg) for path, msg in plan.reference_errors()]
    if errors:
        raise PlanInvalid(sorted(errors, key=lambda e: e.line))
    return plan


def plan_warnings(text: str, plan: Plan) -> list[PlanError]:
    """What a valid plan should still fix (a page that reaches nobody), with lines, like errors."""
    index = _LineIndex(yaml.compose(text))
    return [PlanError(index.line(path), dotted(path), f"warning: {msg}") for path, msg in plan.target_warnings()]


def load_plan_file(path: str | Path) -> tuple[Plan, str]:
    text = Path(path).read_text(encoding="utf-8")
    return parse_plan(text), text


def template_text(language: str) -> str:
    """A plan shipped with Yingji, built from the seeds: "zh" or "en"."""
    name = {"zh": "zh.yaml", "zh-hans": "zh.yaml", "en": "en.yaml"}[language]
    return resources.files("yingji.plans").joinpath("templates", name).read_text(encoding="utf-8")


def dump_plan(plan: Plan) -> str:
    data = plan.model_dump(mode="json", by_alias=True, exclude_defaults=False, exclude_none=True)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
