"""Read a plan file and say exactly where it is wrong: FILE:LINE: path.to.field: message."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .schema import Plan


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


def _duplicate_keys(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> list[PlanError]:
    """PyYAML keeps the last of two equal keys silently; a plan must not lose a line that way."""
    errors: list[PlanError] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                errors.append(PlanError(key.start_mark.line + 1, dotted((*path, key.value)),
                                        f"duplicate key {key.value!r}"))
            seen.add(key.value)
            errors += _duplicate_keys(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            errors += _duplicate_keys(item, (*path, i))
    return errors


def _pydantic_message(error: Any) -> str:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "field required"
    return message.removeprefix("Value error, ")


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
    errors = _duplicate_keys(root)
    if not isinstance(data, dict):
        raise PlanInvalid([*errors, PlanError(1, "", "a plan is a YAML mapping with hospital:, organization:, ...")])
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            path = _pydantic_path(tuple(err["loc"]))
            errors.append(PlanError(index.line(path), dotted(path), _pydantic_message(err)))
        raise PlanInvalid(sorted(errors, key=lambda e: e.line)) from None
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
