"""`yingji plan validate`: every error as FILE:LINE: path: message, exit 1; valid files exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from yingji.cli import main
from yingji.notify.templates import PLACEHOLDERS, TEMPLATES
from yingji.plans.loader import PlanInvalid, dump_plan, parse_plan, template_text
from yingji.plans.schema import Plan, json_schema


def errors_of(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(text)
    return [(e.line, e.path, e.message) for e in caught.value.errors]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


ZH = template_text("zh")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_shipped_plans_are_valid(language: str) -> None:
    plan = parse_plan(template_text(language))
    assert plan.hospital.language == ("zh-hans" if language == "zh" else "en")


def test_a_wrong_type_names_field_and_line() -> None:
    text = ZH.replace("  cii: false", "  cii: maybe")
    assert errors_of(text) == [(line_of(text, "cii: maybe"), "hospital.cii",
                                "'maybe' is not a yes/no value; write true or false")]


def test_an_unknown_system_code_in_a_rule_names_field_and_line() -> None:
    text = ZH.replace("          - {systems: [PACS], outage_over: 4h}", "          - {systems: [RIS], outage_over: 4h}")
    [(line, path, message)] = errors_of(text)
    assert line == line_of(text, "systems: [RIS]")
    assert path == "grading.response_level.grades[0].when[1].systems[0]"
    assert message == "unknown system 'RIS'"


def test_a_bad_duration_names_field_and_line() -> None:
    text = ZH.replace("  acknowledge: 5m", "  acknowledge: 5 minutes")
    [(line, path, message)] = errors_of(text)
    assert (line, path) == (line_of(text, "acknowledge: 5 minutes"), "timers.acknowledge")
    assert "not a duration" in message and "5m" in message


def test_duplicate_codes_are_reported_at_the_second_one() -> None:
    text = ZH.replace("  - code: EMR\n", "  - code: HIS\n")
    errors = errors_of(text)
    second_his = [i for i, line in enumerate(text.splitlines(), 1) if line == "  - code: HIS"][1]
    assert (second_his, "systems[1].code", "duplicate system code 'HIS'") in errors


def test_a_yaml_syntax_error_gives_its_line() -> None:
    text = ZH.replace("  name: 示例市第一人民医院\n", "  name: [示例市第一人民医院\n")
    [(line, path, message)] = errors_of(text)
    assert path == ""
    assert message.startswith("YAML syntax error")
    assert line > line_of(text, "[示例市第一人民医院")  # PyYAML notices where the flow sequence breaks


def test_duplicate_mapping_keys_are_not_silently_dropped() -> None:
    text = ZH.replace("  cii: false\n", "  cii: false\n  cii: true\n")
    assert (line_of(text, "cii: true"), "hospital.cii", "duplicate key 'cii'") in errors_of(text)


def test_unknown_fields_and_missing_fields_are_named() -> None:
    text = ZH.replace("  short_name: 示例一院\n", "  shortname: 示例一院\n").replace("  code: demo\n", "")
    errors = errors_of(text)
    assert (line_of(text, "shortname:"), "hospital.shortname", "unknown field; did you mean short_name?") in errors
    assert (line_of(text, "hospital:"), "hospital.code", "field required, e.g. code: demo") in errors


def test_a_dangling_person_reference_is_named() -> None:
    text = ZH.replace("    leader: dean\n", "    leader: president\n")
    assert (line_of(text, "leader: president"), "organization.leading_group.leader",
            "unknown person 'president'") in errors_of(text)


def test_a_bad_page_target_is_named() -> None:
    text = ZH.replace("    page: [oncall:technical]\n", "    page: [oncall:nobody]\n")
    [(line, path, message)] = errors_of(text)
    assert (path, message) == ("treatment[2].page[0]", "unknown oncall 'nobody'")
    assert line == line_of(text, "page: [oncall:nobody]")


def test_cli_validate_prints_file_line_path_message_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    broken = tmp_path / "plan.yaml"
    text = ZH.replace("  fix: 30m", "  fix: soon")
    broken.write_text(text, encoding="utf-8")
    assert main(["plan", "validate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert f"{broken}:{line_of(text, 'fix: soon')}: timers.fix: 'soon' is not a duration" in err


def test_cli_validate_exits_0_with_a_one_line_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = tmp_path / "plan.yaml"
    good.write_text(ZH, encoding="utf-8")
    assert main(["plan", "validate", str(good)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"{good}: OK: 示例市第一人民医院")


def test_json_schema_export_describes_the_plan(tmp_path: Path) -> None:
    schema = json_schema()
    assert schema["properties"]["hospital"]
    assert "schema" in schema["properties"]  # the alias, as written in files
    out = tmp_path / "plan.schema.json"
    assert main(["plan", "schema", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["title"] == "Yingji emergency plan"


def test_dumped_plan_parses_back_to_the_same_plan() -> None:
    plan = parse_plan(ZH)
    again = parse_plan(dump_plan(plan))
    assert again == plan
    assert yaml.safe_load(dump_plan(plan))["timers"]["acknowledge"] == "5m"


def test_an_alias_bomb_is_refused_at_once_with_its_line() -> None:
    import time

    laughs = "lol0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha]\n" + "".join(
        f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
    started = time.perf_counter()
    [(line, _path, message)] = errors_of(laughs)
    assert time.perf_counter() - started < 2
    assert "expands to more than" in message and 1 < line <= 10
    assert "refers to itself" in errors_of("a: &a [*a]\n")[0][2]
    many = "x: &x 1\nlist: [" + ", ".join(["*x"] * 1001) + "]\n"
    assert "more than 1000 aliases" in errors_of(many)[0][2]
    assert "larger than" in errors_of("# " + "x" * (3 * 1024 * 1024))[0][2]


def test_a_duration_past_ten_years_is_an_error_not_an_overflow() -> None:
    text = ZH.replace("  acknowledge: 5m", "  acknowledge: 99999999999999999999d", 1)
    assert text != ZH
    [(line, path, message)] = errors_of(text)
    assert path == "timers.acknowledge" and "ten years" in message and line == line_of(ZH, "  acknowledge: 5m")


def test_a_fix_escalation_names_grades_of_its_scheme() -> None:
    text = ZH.replace('grade: "3", raise_to: "2"', 'grade: "3", raise_to: "II"')
    assert (line_of(text, 'raise_to: "II"'), "timers.fix_escalation[0].raise_to",
            "unknown response level 'II'") in errors_of(text)


def test_a_target_that_reaches_nobody_is_a_warning_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The plan is still valid (exit 0), but a department without a head is named, with the line
    of the target that would page it."""
    text = ZH.replace("kind: logistics, lead: warehouse-head}", "kind: logistics}")
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["plan", "validate", str(path)]) == 0
    out = capsys.readouterr()
    line = line_of(text, "department:warehouse, department:physical-exam")
    assert f"{path}:{line}: timers.modes[1].notify[4]: warning: department 'warehouse'" in out.err
    assert "(1 warning(s))" in out.out
    assert main(["plan", "validate", str(tmp_path / "none.yaml")]) == 1


def test_the_shipped_plans_leave_nobody_out() -> None:
    for language in ("zh", "en"):
        assert parse_plan(template_text(language)).target_warnings() == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_json_schema_accepts_the_shipped_plans_as_written(language: str) -> None:
    """An editor checking a plan against `yingji plan schema` must not flag the template's own
    "08:00" (JSON Schema's format: time wants seconds and an offset)."""
    import jsonschema

    def as_written(value: object) -> object:  # YAML reads 2026-01-01 as a date; an editor sees text
        if isinstance(value, dict):
            return {k: as_written(v) for k, v in value.items()}
        if isinstance(value, list):
            return [as_written(v) for v in value]
        return value.isoformat() if hasattr(value, "isoformat") else value

    data = as_written(yaml.safe_load(template_text(language)))
    validator = jsonschema.Draft202012Validator(json_schema(), format_checker=jsonschema.FormatChecker())
    assert [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)] == []


def test_a_weekly_roster_says_its_handover_day_and_a_start_on_another_day_is_named() -> None:
    plan = parse_plan(ZH)
    roster = plan.rosters[0]
    data = yaml.safe_load(ZH)
    data["rosters"][0].update({"rotation": "weekly", "handover_day": roster.weekday})
    assert parse_plan(yaml.safe_dump(data, allow_unicode=True)).rosters[0].handover_day == roster.weekday
    other = next(day for day in ("monday", "tuesday") if day != roster.weekday)
    data["rosters"][0]["handover_day"] = other
    [(line, path, message)] = errors_of(yaml.safe_dump(data, allow_unicode=True))
    assert line > 1 and path == "rosters[0]" and f"is a {roster.weekday}, not a {other}" in message


# -- messages: the templates Yingji sends (yingji/notify/templates.py) ----------------------------


def test_a_misspelt_message_template_is_an_error_naming_the_known_ones() -> None:
    text = ZH.replace("  activation:\n    subject: 【启动应急预案】", "  activaton:\n    subject: 【启动应急预案】")
    [(line, path, message)] = errors_of(text)
    assert (line, path) == (line_of(text, "  activaton:"), "messages.activaton")
    assert message.startswith("unknown message template; known: page, escalation, activation_request, "
                              "level_report, activation")


def test_a_template_yingji_never_sends_is_an_error() -> None:
    text = ZH.replace("messages:\n", "messages:\n  report_received:\n    subject: 故障报告 {number} 已受理\n"
                      "    body: 编号 {number}。\n")
    assert (line_of(text, "report_received:"), "messages.report_received",
            "unknown message template; known: " + ", ".join(TEMPLATES)) in errors_of(text)


def test_a_placeholder_the_template_cannot_fill_is_named_with_its_line() -> None:
    text = ZH.replace("subject: 【已恢复】{system} {number}", "subject: 【已恢复】{system} {number} {deadline}")
    [(line, path, message)] = errors_of(text)
    assert (line, path) == (line_of(text, "【已恢复】"), "messages.restored.subject")
    assert message.startswith("{deadline} cannot be filled in for restored; it has {number}, {system}")
    assert "{time}" in message and "{url}" in message


PAGE_BODY = 'body: "{system} 故障：{symptom}（地点：{location}）。请在 {deadline} 内确认并赶赴现场。确认链接：{url}"'


@pytest.mark.parametrize("body", ["确认 {url", "确认 } {url}", "{system.name} {url}", "{0} {url}", "{level:>5} {url}"])
def test_a_body_str_format_cannot_fill_is_an_error_not_a_crash_at_send_time(body: str) -> None:
    text = ZH.replace(PAGE_BODY, f'body: "{body}"')
    [(line, path, message)] = errors_of(text)
    assert (line, path) == (line_of(text, body), "messages.page.body")
    assert "{{ or }}" in message


def test_a_page_asking_for_acknowledgement_without_its_link_is_an_error() -> None:
    text = ZH.replace("请在 {deadline} 内确认并赶赴现场。确认链接：{url}", "请在 {deadline} 内确认并赶赴现场。")
    [(line, path, message)] = errors_of(text)
    assert (line, path) == (line_of(text, "内确认并赶赴现场。\""), "messages.page.body")
    assert message.startswith("page asks to be acknowledged but has no {url}")


def test_the_activation_message_carries_the_departments_acknowledgement_link() -> None:
    """The shipped plans asked each department to acknowledge within the deadline, with no link to
    do it by; the department lead's message is the one the acknowledgement link is for."""
    for language in ("zh", "en"):
        plan = parse_plan(template_text(language))
        assert TEMPLATES["activation"].ack and "{url}" in plan.messages["activation"].body
        assert set(plan.messages) <= set(TEMPLATES)
    text = ZH.replace("内确认：{url}\n", "内确认。\n")
    assert [(p, m.split(" but")[0]) for _line, p, m in errors_of(text)] == [
        ("messages.activation.body", "activation asks to be acknowledged")]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_yingjis_own_wording_uses_only_what_each_template_fills_in(language: str) -> None:
    """The defaults and their translations follow the same rules as a plan's wording."""
    from django.utils import translation

    from yingji.notify.templates import placeholders_in

    with translation.override(language):
        for name, template in TEMPLATES.items():
            used = placeholders_in(str(template.subject)) + placeholders_in(str(template.body))
            assert set(used) <= set(template.allowed), (name, used)
            assert not template.ack or "url" in used, name
            assert set(template.allowed) <= set(PLACEHOLDERS), name


def test_a_version_stored_before_the_check_still_pages_in_yingjis_wording() -> None:
    """Stored versions are not validated again; a brace their wording cannot fill must not stop a page."""
    from yingji.notify.service import render

    data = yaml.safe_load(ZH)
    data["messages"]["page"]["body"] = "{system} 故障 { 请确认"
    plan = Plan.model_validate(data)
    context = {"number": "N1", "system": "HIS", "symptom": "s", "location": "-", "level": "三级", "deadline": "5 分钟",
               "url": "http://x/ack/t", "name": "张三"}
    subject, body = render(plan, "page", context)
    assert subject == "【三级】HIS 故障 N1" and "http://x/ack/t" in body


# -- errors say what a correct value looks like -------------------------------------------------


def test_a_bad_duration_says_how_to_write_one() -> None:
    text = ZH.replace("  on_site: 10m", "  on_site: ten minutes")
    [(_line, path, message)] = errors_of(text)
    assert path == "timers.on_site"
    assert message == "'ten minutes' is not a duration; write a duration like 30s, 5m, 3h, 1d or 1h30m"


def test_a_bad_code_says_what_a_code_is() -> None:
    text = ZH.replace("  - code: EMR\n", "  - code: 电子病历 EMR\n")
    [(line, path, message)] = errors_of(text)
    assert (line, path) == (line_of(text, "code: 电子病历 EMR"), "systems[1].code")
    assert message.startswith("'电子病历 EMR' is not a code: 1 to 40 letters (A-Z, a-z), digits, '_', '.' or '-'")
    assert "e.g. HIS" in message


def test_an_unknown_value_lists_the_allowed_ones() -> None:
    text = ZH.replace("  language: zh-hans", "  language: zh")
    assert errors_of(text) == [(line_of(text, "language: zh"), "hospital.language",
                                "'zh' is not allowed; one of: zh-hans, en")]
    text = ZH.replace("    may_close: [office]", "    may_close: [ofice]", 1)
    assert text != ZH
    [(_line, path, message)] = errors_of(text)
    assert path.endswith(".may_close[0]")
    assert message == ("'ofice' is not allowed; one of: reporter, engineer, office, commander, department_lead, "
                       "viewer, admin")


def test_a_missing_field_is_named_with_an_example_from_the_shipped_plan() -> None:
    text = ZH.replace("  title: 信息系统运行与安全专项应急预案\n", "", 1)
    assert (line_of(text, "document:"), "document.title",
            "field required, e.g. title: 信息系统运行与安全专项应急预案") in errors_of(text)
    english = template_text("en")
    data = yaml.safe_load(english)
    del data["organization"]["office"], data["systems"][2]["name"]
    errors = {path: message for _line, path, message in errors_of(yaml.safe_dump(data, allow_unicode=True))}
    assert errors["organization.office"] == "field required, e.g. office: with code:, name: under it"
    assert errors["systems[2].name"] == f"field required, e.g. name: {data['systems'][0]['name']}"


def test_a_number_where_text_belongs_says_to_quote_it() -> None:
    text = ZH.replace('  it_hotline: "010-00000000"', "  it_hotline: 01000000000")
    [(_line, path, message)] = errors_of(text)
    assert path == "hospital.it_hotline"
    # YAML reads 01000000000 as the octal number 134217728; the message shows it as written.
    assert message == '01000000000 is read as a number, not text; put it in quotes: "01000000000"'


def test_a_bad_phone_time_date_and_list_say_how_to_write_them() -> None:
    data = yaml.safe_load(ZH)
    data["people"][0]["mobile"] = "call the desk"
    data["rosters"][0]["handover"] = "8am"
    data["rosters"][0]["start"] = "next monday"
    data["organization"]["groups"][0]["members"] = data["organization"]["groups"][0]["members"][0]
    data["activation"][0]["departments"] = "some"
    errors = {path: message for _line, path, message in errors_of(yaml.safe_dump(data, allow_unicode=True))}
    assert errors["people[0].mobile"] == ("'call the desk' is not a phone number: 3 to 30 digits, spaces and "
                                          '+ ( ) -, in quotes, e.g. "010-00000000"')
    assert errors["rosters[0].handover"] == "'8am' is not a time of day; write one like 08:00"
    assert errors["rosters[0].start"] == "'next monday' is not a date; write one like 2026-01-05"
    assert errors["organization.groups[0].members"].endswith("is not a list; write [a, b], or one \"- item\" per line")
    # A list of codes or "all": one error that says both, not two at the same place.
    assert errors["activation[0].departments"] == ("'some' is not a list; write [a, b], or one \"- item\" per "
                                                   "line; or 'some' is not allowed; one of: all")


def test_an_unquoted_time_yaml_reads_as_a_number_is_an_error_not_a_wrong_time() -> None:
    """YAML 1.1 reads 11:00 as 660 (base 60), which pydantic took as 00:11 without a word."""
    english = template_text("en")
    text = english.replace('  end: "11:00"', "  end: 11:00")
    assert text != english
    assert errors_of(text) == [(line_of(text, "  end: 11:00"), "peak_hours.end",
                                'YAML reads 11:00 as the number 660; put it in quotes: "11:00"')]


def test_back_entry_codes_are_checked_with_their_lines() -> None:
    """recovery.target_system, a record kind's system, and who settles or parks on account must be
    the plan's own codes; a record kind is listed once."""
    text = ZH.replace("  target_system: HIS\n", "  target_system: CIS\n").replace(
        "    - {code: discharge, name: 出院, inpatient: true}\n",
        "    - {code: discharge, name: 出院, inpatient: true}\n"
        "    - {code: blood_issue, name: 发血, needs_clinician: true, system: BIS}\n"
        "    - {code: charge, name: 收费（重复）}\n"
        "  settling_departments: [finance, accounts]\n  on_account_departments: [ward-9]\n")
    errors = errors_of(text)
    assert (line_of(text, "target_system: CIS"), "recovery.target_system", "unknown system 'CIS'") in errors
    assert (line_of(text, "system: BIS"), "recovery.record_kinds[8].system", "unknown system 'BIS'") in errors
    assert (line_of(text, "收费（重复）"), "recovery.record_kinds[9].code", "duplicate record kind code 'charge'") \
        in errors
    assert (line_of(text, "settling_departments"), "recovery.settling_departments[1]",
            "unknown department 'accounts'") in errors
    assert (line_of(text, "on_account_departments"), "recovery.on_account_departments[0]",
            "unknown department 'ward-9'") in errors


def test_a_plan_without_back_entry_rules_gets_the_defaults_the_shipped_plans_state() -> None:
    """Left out, the target is the first core system, the kinds are Yingji's eight, finance and
    insurance departments settle and inpatient ones park on account: what zh.yaml says explicitly."""
    data = yaml.safe_load(ZH)
    for key in ("target_system", "record_kinds"):
        data["recovery"].pop(key)
    bare, shipped = parse_plan(yaml.safe_dump(data, allow_unicode=True)), parse_plan(ZH)
    assert bare.backentry_system().code == shipped.backentry_system().code == "HIS"
    assert [(k.code, k.needs_clinician, k.needs_amount, k.inpatient) for k in bare.recovery.record_kinds] == [
        (k.code, k.needs_clinician, k.needs_amount, k.inpatient) for k in shipped.recovery.record_kinds]
    assert bare.settling_departments() == ["cashier", "inpatient-billing", "finance", "insurance-office"]
    assert bare.on_account_departments() == ["wards"]


def test_the_second_hospital_s_plan_is_valid_reaches_everyone_and_passes_the_json_schema() -> None:
    import jsonschema

    from .hospitals import SECOND

    text = SECOND.read_text(encoding="utf-8")
    plan = parse_plan(text)
    assert plan.target_warnings() == []
    assert plan.backentry_system().code == "CIS" and plan.backentry_system("blood_issue").code == "BBS"
    assert plan.settling_departments() == ["billing", "claims"]  # named: reception (kind finance) is not one
    data = yaml.safe_load(text)
    data["rosters"][0]["start"] = data["rosters"][0]["start"].isoformat()
    validator = jsonschema.Draft202012Validator(json_schema(), format_checker=jsonschema.FormatChecker())
    assert [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)] == []


def test_the_json_schema_says_what_each_department_kind_does() -> None:
    described = json_schema()["$defs"]["Department"]["properties"]["kind"]["description"]
    for kind in ("finance", "insurance", "inpatient", "emergency", "logistics"):
        assert f"{kind}: " in described
    assert "settling_departments" in described and "on_account_departments" in described


def test_the_json_schema_gives_defaults_as_a_plan_writes_them() -> None:
    """An editor offering the schema's default must offer 5m and 08:00, values the schema itself
    accepts, not 300 seconds or 08:00:00."""
    import re as regex

    schema = json_schema()
    timers, roster = schema["$defs"]["Timers"]["properties"], schema["$defs"]["Roster"]["properties"]
    assert (timers["acknowledge"]["default"], roster["handover"]["default"]) == ("5m", "08:00")
    assert schema["$defs"]["Notifications"]["properties"]["retry"]["default"] == ["30s", "2m", "10m", "30m"]
    for name, model in schema["$defs"].items():
        for field, prop in model.get("properties", {}).items():
            if "pattern" in prop and isinstance(prop.get("default"), str | int):
                assert regex.search(prop["pattern"], str(prop["default"])), (name, field, prop["default"])
