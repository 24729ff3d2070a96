"""docs/plan.md is written from the schema and the message registry, and kept up to date."""

from __future__ import annotations

from pathlib import Path

from yingji.cli import main
from yingji.notify.templates import PLACEHOLDERS, TEMPLATES
from yingji.plans import schema
from yingji.plans.docs import DEFS, markdown

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plan.md"


def test_the_docs_are_the_schema() -> None:
    assert DOCS.read_text(encoding="utf-8") == markdown(), (
        "docs/plan.md is out of date: .venv/bin/yingji plan docs -o docs/plan.md")


def test_every_section_field_template_and_placeholder_is_described() -> None:
    page = markdown()
    for name, definition in DEFS.items():
        assert f"### {name}\n" in page, name
        for field in definition["properties"]:
            assert f"| `{field}` |" in page, (name, field)
    for field in schema.json_schema()["properties"]:
        assert f"| `{field}` |" in page, field
    for name in TEMPLATES:
        assert f"| `{name}` |" in page, name
    for placeholder in PLACEHOLDERS:
        assert f"| `{{{placeholder}}}` |" in page, placeholder
    for kind in ("person:", "role:", "group:", "oncall:", "department:"):
        assert f"| `{kind}" in page, kind


def test_defaults_are_written_as_the_plan_writes_them() -> None:
    """The JSON Schema gives a duration's default in seconds (300); the page says 5m, 08:00."""
    page = markdown()
    assert "| `acknowledge` | [duration](#durations) | `5m` |" in page
    assert "| `handover` | time `HH:MM` | `08:00` |" in page
    assert "| `retry` | list of [duration](#durations) | `[30s, 2m, 10m, 30m]` |" in page
    assert "| `page` | list of [targets](#targets) | `[]` |" in page


def test_examples_come_from_the_shipped_plan() -> None:
    page = markdown()
    system_code = "| `code` | [code](#codes-and-text) | **required** | the code the rest of the plan refers to it by |"
    assert f"{system_code} `HIS` |" in page
    assert "`[eng-duty, eng-net, eng-sys, eng-db]`" in page  # a roster's members


def test_cli_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "plan.md"
    assert main(["plan", "docs", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == markdown()
