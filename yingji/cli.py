"""The `yingji` command: run the server and worker, and manage plans, users, tokens and the audit log.

    yingji run [--host H] [--port P] [--demo]
    yingji worker
    yingji plan validate FILE | plan import FILE [--publish] | plan export [-o FILE] | plan schema | plan docs
           | plan template zh|en
    yingji user add NAME (--role ROLE | --person CODE) [--department CODE] [--password PW]
    yingji user unlock [NAME] [--address IP]
    yingji token create NAME
    yingji integration add KIND NAME [--every 5m --grace 1m --system CODE] | integration rotate NAME
    yingji audit verify | anchor | rekey
    yingji demo [--language zh|en]
    yingji manage ARGS...       (any Django management command)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yingji.settings")
    import django

    django.setup()


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def cmd_plan_validate(args: argparse.Namespace) -> int:
    # Validation needs no database: it works on a laptop before anything is installed.
    from yingji.plans.loader import PlanInvalid, load_plan_file, plan_warnings

    try:
        plan, text = load_plan_file(args.file)
    except FileNotFoundError:
        print(f"{args.file}: no such file", file=sys.stderr)
        return 1
    except PlanInvalid as exc:
        print(exc.format(args.file), file=sys.stderr)
        print(f"{args.file}: {len(exc.errors)} error(s)", file=sys.stderr)
        return 1
    warnings = plan_warnings(text, plan)
    for warning in warnings:
        print(warning.format(args.file), file=sys.stderr)
    print(f"{args.file}: OK: {plan.summary()}" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    return 0


def cmd_plan_import(args: argparse.Namespace) -> int:
    _django()
    _migrate()
    from yingji.core.actors import CLI
    from yingji.plans import actions
    from yingji.plans.loader import PlanInvalid

    text = Path(args.file).read_text(encoding="utf-8")
    try:
        version = actions.import_plan(CLI, text, note=args.note or "")
    except PlanInvalid as exc:
        print(exc.format(args.file), file=sys.stderr)
        return 1
    if args.publish:
        actions.approve(CLI, version)
        actions.publish(CLI, version)
    print(f"imported plan v{version.number} ({version.label}), status {version.status}")
    return 0


def cmd_plan_export(args: argparse.Namespace) -> int:
    _django()
    from yingji.plans.models import PlanVersion

    rows = PlanVersion.objects.all()
    version = (rows.filter(number=args.version).first() if args.version
               else rows.filter(status=PlanVersion.Status.PUBLISHED).first() or rows.first())
    if version is None:
        print("no plan imported yet", file=sys.stderr)
        return 1
    # The file as imported, comments and all: export then import gives the same plan back.
    _write(args.output, version.source)
    return 0


def cmd_plan_schema(args: argparse.Namespace) -> int:
    from yingji.plans.schema import json_schema

    _write(args.output, json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n")
    return 0


def cmd_plan_docs(args: argparse.Namespace) -> int:
    _django()  # Yingji's own wording of each message is a translated string
    from yingji.plans.docs import markdown

    _write(args.output, markdown())
    return 0


def cmd_plan_template(args: argparse.Namespace) -> int:
    from yingji.plans.loader import template_text

    _write(args.output, template_text(args.language))
    return 0


def _write(path: str | None, text: str) -> None:
    if path and path != "-":
        Path(path).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def cmd_user_add(args: argparse.Namespace) -> int:
    _django()
    _migrate()
    from yingji.accounts.models import Role, User
    from yingji.plans.store import published

    current = published()
    plan = current[1] if current else None
    person = None
    if args.person:
        person = plan.person(args.person) if plan else None
        if person is None:
            print(f"--person: {args.person!r} is not a person of the published plan"
                  + ("" if plan else " (no plan is published)"), file=sys.stderr)
            return 1
    # The plan's person gives the role and department unless they are given here.
    role = args.role or (person.role if person else None)
    department = args.department or (person.department if person else "") or ""
    if role not in Role.values:
        print(f"--role: must be one of {', '.join(Role.values)}"
              + (f" (the plan gives {args.person!r} no role)" if person and not role else ""), file=sys.stderr)
        return 1
    if department and plan and plan.department(department) is None:
        print(f"--department: {department!r} is not a department of the published plan; one of: "
              + ", ".join(d.code for d in plan.departments), file=sys.stderr)
        return 1
    user = User.objects.filter(username=args.name).first() or User(username=args.name)
    created = user.pk is None
    user.role, user.department = role, department
    if person is not None:  # the login is this person: pages to them can be acknowledged by them
        user.person, user.first_name = person.code, person.name
        user.phone = user.phone or person.mobile or ""
        user.email = user.email or person.email or ""
    user.is_staff = user.is_superuser = role == "admin"
    if args.password:
        if problems := _password_problems(args.password, user):
            print("--password: " + " ".join(problems), file=sys.stderr)
            return 1
        user.set_password(args.password)
    elif created:
        user.set_unusable_password()
    user.save()
    print(f"{'created' if created else 'updated'} user {user.username} ({user.role})"
          + (f", the plan's {user.person}" if user.person else ""))
    return 0


def _password_problems(password: str, user: Any) -> list[str]:
    """Django's validators (settings.AUTH_PASSWORD_VALIDATORS): every reason, not only the first."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def cmd_user_unlock(args: argparse.Namespace) -> int:
    """Lift a login lock now instead of after the cool-off; on the audit chain as done by the CLI."""
    _django()
    _migrate()
    from yingji.accounts.lockout import unlock
    from yingji.core.actors import CLI

    if not args.name and not args.address:
        print("give a user NAME, --address IP, or both", file=sys.stderr)
        return 1
    cleared = unlock(CLI, username=args.name, address=args.address)
    what = " and ".join(x for x in (args.name and f"user {args.name}", args.address and f"address {args.address}")
                        if x)
    print(f"unlocked {what} ({cleared} failed-login record(s) cleared)")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    _django()
    _migrate()
    from yingji.accounts.models import ApiToken, User

    user = User.objects.filter(username=args.name).first()
    if user is None:
        print(f"no user named {args.name!r}; create it first with `yingji user add {args.name} --role ROLE`",
              file=sys.stderr)
        return 1
    _, token = ApiToken.issue(user, args.label or "cli")
    print(token)
    return 0


def cmd_integration_add(args: argparse.Namespace) -> int:
    """Print the new integration's URL: the one line a monitor's webhook setting needs."""
    _django()
    _migrate()
    from yingji.alerts import actions
    from yingji.core.actors import CLI
    from yingji.core.errors import BadInput
    from yingji.plans.durations import parse_duration

    try:
        every = parse_duration(args.every) if args.every else None
        grace = parse_duration(args.grace) if args.grace else 0
    except ValueError as exc:
        print(f"--every/--grace: {exc}", file=sys.stderr)
        return 1
    try:
        integration, token = actions.add_integration(CLI, args.kind, args.name, every, grace, args.system)
    except BadInput as exc:
        print(f"{exc.field}: {exc.message}", file=sys.stderr)
        return 1
    print(actions.url_of(integration, token))
    return 0


def cmd_integration_rotate(args: argparse.Namespace) -> int:
    _django()
    _migrate()
    from yingji.alerts import actions
    from yingji.alerts.models import Integration
    from yingji.core.actors import CLI

    integration = Integration.objects.filter(name=args.name).first()
    if integration is None:
        print(f"no integration named {args.name!r}", file=sys.stderr)
        return 1
    print(actions.url_of(integration, actions.rotate_token(CLI, integration)))
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    """Revoke a user's tokens (or those starting with --prefix); on the audit chain."""
    _django()
    _migrate()
    from yingji.accounts.models import ApiToken
    from yingji.core import audit, clock

    tokens = ApiToken.objects.filter(user__username=args.name, revoked_at__isnull=True)
    if args.prefix:
        tokens = tokens.filter(prefix__startswith=args.prefix[:10])
    with audit.writing():
        prefixes = list(tokens.values_list("prefix", flat=True))
        tokens.update(revoked_at=clock.now())
        audit.append("cli", "token.revoked", "user", None, {"username": args.name, "prefixes": prefixes})
    print(f"revoked {len(prefixes)} token(s) of {args.name}; they stop working within a few seconds")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    _django()
    from yingji.core.audit import verify

    result = verify()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.ok:
        print(f"audit chain intact: {result.checked} entries, held against {result.anchors} anchor(s)")
        return 0
    print(f"audit chain BROKEN ({result.kind}) at entry {result.bad_id}: {result.reason} ({result.checked} "
          "entries before it are intact)", file=sys.stderr)
    return 1


def cmd_audit_anchor(args: argparse.Namespace) -> int:
    _django()
    from yingji.core.audit import anchor_path, write_anchor

    anchor = write_anchor(force=True)
    if anchor is None:
        print(f"nothing new to anchor; {anchor_path()} already ends at the chain's head")
    else:
        print(f"anchored {anchor.count} entries, head {anchor.head} (entry {anchor.last_id}) in {anchor_path()}")
    return 0


def cmd_audit_rekey(args: argparse.Namespace) -> int:
    _django()
    from yingji.core.audit import AuditKeyError, rekey
    from yingji.timers.service import worker_alive

    if worker_alive():  # its processes keep the old key and would write entries the new one fails
        print("not rekeyed: a worker is running; stop Yingji (web and worker) first", file=sys.stderr)
        return 1
    try:
        count, path = rekey()
    except AuditKeyError as exc:
        print(f"not rekeyed: {exc}", file=sys.stderr)
        return 1
    print(f"re-signed {count} entries under a new key in {path}; the old key is kept as {path}.old until you "
          "remove it")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _django()
    _migrate()
    from yingji.core.demo import DEMO_PASSWORD, load_demo

    for username, role, name in load_demo(args.language):
        print(f"  {username:<24} {role:<16} {name}")
    print(f"password for every demo login: {DEMO_PASSWORD}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _django()
    from yingji.timers.worker import Worker

    Worker().run(max_seconds=args.seconds)
    return 0


def cmd_timers_probe(args: argparse.Namespace) -> int:
    """Schedule no-op probe timers spread over a window: drills and benchmarks measure lateness with them."""
    _django()
    _migrate()
    from yingji.timers.service import schedule_probes

    print(schedule_probes(args.count, args.within, args.start_in))
    return 0


def _incident(ref: str):  # type: ignore[no-untyped-def]
    from yingji.incidents.models import Incident

    found = Incident.objects.filter(number=ref).first() or (
        Incident.objects.filter(pk=int(ref)).first() if ref.isdigit() else None)
    if found is None:
        raise SystemExit(f"no incident {ref!r} (give its number, e.g. INC-20260305-0001, or its id)")
    return found


def _save(data: bytes, out: str) -> int:
    Path(out).write_bytes(data)
    print(f"{out}: {len(data)} bytes")
    return 0


def cmd_report_review(args: argparse.Namespace) -> int:
    """The post-incident review as PDF or DOCX, in the plan's language."""
    _django()
    from yingji.reviews.document import render, review_doc

    incident = _incident(args.incident)
    return _save(render(review_doc(incident), args.format), args.output)


def cmd_report_regulatory(args: argparse.Namespace) -> int:
    """One report to an authority (police, CAC, PIPL) as PDF or DOCX, ready to send."""
    _django()
    from yingji.reviews.document import regulatory_doc, render
    from yingji.reviews.models import RegulatoryReport

    incident = _incident(args.incident)
    kinds = ["cac", "cac_followup", "cac_summary"] if args.kind == "cac" else [args.kind]  # cac: the latest
    report = RegulatoryReport.objects.filter(incident=incident, kind__in=kinds).order_by("-id").first()
    if report is None:
        raise SystemExit(f"incident {incident.number} owes no {args.kind} report (its grade and security flag "
                         "do not require one)")
    return _save(render(regulatory_doc(report), args.format), args.output)


def cmd_run(args: argparse.Namespace) -> int:
    """Migrate, load the demo on first start if asked, start the worker, then serve."""
    _django()
    _migrate()
    from django.conf import settings

    from yingji.core.demo import DEMO_PASSWORD, load_demo
    from yingji.plans.models import PlanVersion

    logins: list[tuple[str, str, str]] = []
    if args.demo:
        logins = load_demo(args.language)
    from django.db import connections

    connections.close_all()  # the server and worker processes open their own
    worker = None
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    # Acknowledgement links in pages must point at this server (the web process writes them too).
    os.environ.setdefault("YINGJI_BASE_URL", f"http://{host}:{args.port}")
    settings.YINGJI_BASE_URL = os.environ["YINGJI_BASE_URL"].rstrip("/")
    if not args.no_worker:
        worker = subprocess.Popen([sys.executable, "-m", "yingji.cli", "worker"], env=os.environ.copy())
    print(f"Yingji is serving at http://{host}:{args.port}/  (data: {settings.DATA_DIR})", flush=True)
    if logins:
        print(f"Demo logins (password: {DEMO_PASSWORD}):")
        for username, role, name in logins:
            print(f"  {username:<24} {role:<16} {name}")
    if not PlanVersion.objects.filter(status="published").exists():
        print("No plan is published: `yingji plan import FILE --publish`, or start with --demo.")
    sys.stdout.flush()
    try:
        _serve(args.host, args.port, args.workers, args.threads)
    finally:
        if worker:
            worker.terminate()
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
    return 0


def _serve(host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    from yingji.wsgi import application

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers, "threads": threads, "worker_class": "gthread",
                "timeout": 60, "graceful_timeout": 10, "accesslog": None, "errorlog": "-",
                "loglevel": "warning",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            return application

    Server().run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="yingji", description="Yingji (应急): the hospital IT emergency plan.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="migrate, start the worker and serve the web UI and API")
    run.add_argument("--host", default=os.environ.get("YINGJI_HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("YINGJI_PORT", "8000")))
    run.add_argument("--demo", action="store_true", help="load the demo hospital if no plan is published")
    run.add_argument("--language", default="zh", choices=["zh", "en"], help="demo plan language")
    # SQLite takes one writer at a time. Two processes hand it over through the writers' flock and
    # carry about 1.5x the reports of one (docs/benchmarks.md), but their writes still queue on that
    # one lock; one process is the default, YINGJI_WEB_WORKERS=2 the measured option. PostgreSQL
    # gets a process per core.
    default_workers = "2" if os.environ.get("DATABASE_URL") else "1"
    run.add_argument("--workers", type=int, default=int(os.environ.get("YINGJI_WEB_WORKERS", default_workers)))
    run.add_argument("--threads", type=int, default=int(os.environ.get("YINGJI_WEB_THREADS", "8")))
    run.add_argument("--no-worker", action="store_true", help="serve only (run `yingji worker` elsewhere)")
    run.set_defaults(func=cmd_run)

    worker = sub.add_parser("worker", help="fire timers until stopped")
    worker.add_argument("--seconds", type=float, default=None, help="stop after this long (for tests)")
    worker.set_defaults(func=cmd_worker)

    timer = sub.add_parser("timers", help="timer drills").add_subparsers(dest="timers_cmd", required=True)
    p = timer.add_parser("probe", help="schedule COUNT no-op probe timers due over --within seconds")
    p.add_argument("count", type=int)
    p.add_argument("--within", type=float, default=60.0)
    p.add_argument("--start-in", type=float, default=2.0, help="seconds until the first is due")
    p.set_defaults(func=cmd_timers_probe)

    report = sub.add_parser("report", help="documents: review, regulatory reports").add_subparsers(
        dest="report_cmd", required=True)
    p = report.add_parser("review", help="the post-incident review")
    p.add_argument("incident", help="incident number or id")
    p.add_argument("--format", choices=["pdf", "docx"], default="pdf")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_report_review)
    p = report.add_parser("regulatory", help="a report owed to the police, the CAC or under PIPL")
    p.add_argument("incident", help="incident number or id")
    p.add_argument("--kind", choices=["police", "cac", "cac_followup", "cac_summary", "pipl"], required=True)
    p.add_argument("--format", choices=["pdf", "docx"], default="pdf")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_report_regulatory)

    plan = sub.add_parser("plan", help="validate, import, export plans").add_subparsers(dest="plan_cmd", required=True)
    p = plan.add_parser("validate", help="check a plan file; errors as FILE:LINE: path: message")
    p.add_argument("file")
    p.set_defaults(func=cmd_plan_validate)
    p = plan.add_parser("import", help="store a plan file as a new version")
    p.add_argument("file")
    p.add_argument("--publish", action="store_true", help="approve and publish it at once")
    p.add_argument("--note", default="")
    p.set_defaults(func=cmd_plan_import)
    p = plan.add_parser("export", help="write the published (or given) version's YAML")
    p.add_argument("-o", "--output")
    p.add_argument("--version", type=int, help="version number (default: the published one)")
    p.set_defaults(func=cmd_plan_export)
    p = plan.add_parser("schema", help="write the JSON Schema of plan files (for editor completion)")
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_plan_schema)
    p = plan.add_parser("docs", help="write the plan format's reference (docs/plan.md) from the schema")
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_plan_docs)
    p = plan.add_parser("template", help="write a shipped plan template to start from")
    p.add_argument("language", choices=["zh", "en"])
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_plan_template)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_cmd", required=True)
    p = user.add_parser("add", help="create or update a user")
    p.add_argument("name")
    p.add_argument("--role", help="one of Yingji's roles; default: the plan person's role")
    p.add_argument("--department", default="", help="a department of the published plan; default: the person's")
    p.add_argument("--person", help="the plan person this login is (their pages, their name, their department)")
    p.add_argument("--password", help="checked against the password rules (length, common, numeric, like the name)")
    p.set_defaults(func=cmd_user_add)
    p = user.add_parser("unlock", help="lift the lock on a login name and/or an address after failed logins")
    p.add_argument("name", nargs="?", help="the login name that is locked")
    p.add_argument("--address", help="the IP address that is locked")
    p.set_defaults(func=cmd_user_unlock)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_cmd", required=True)
    p = token.add_parser("create", help="print a new API token for user NAME")
    p.add_argument("name")
    p.add_argument("--label", default="")
    p.set_defaults(func=cmd_token_create)
    p = token.add_parser("revoke", help="revoke user NAME's API tokens (all, or --prefix yj_xxxx)")
    p.add_argument("name")
    p.add_argument("--prefix", default="")
    p.set_defaults(func=cmd_token_revoke)

    integration = sub.add_parser("integration", help="monitors sending alerts").add_subparsers(
        dest="integration_cmd", required=True)
    p = integration.add_parser("add", help="add a monitor KIND (alertmanager, grafana, zabbix, nagios, generic) "
                               "called NAME and print its secret URL")
    p.add_argument("kind")
    p.add_argument("name")
    p.add_argument("--every", default="", help="heartbeat: how often it checks in (5m, 1h)")
    p.add_argument("--grace", default="0s", help="heartbeat: how late it may be before it counts as silent")
    p.add_argument("--system", default="", help="heartbeat: the plan system its silence is about")
    p.set_defaults(func=cmd_integration_add)
    p = integration.add_parser("rotate", help="give integration NAME a new secret URL (the old one stops)")
    p.add_argument("name")
    p.set_defaults(func=cmd_integration_rotate)

    audit = sub.add_parser("audit", help="the audit chain").add_subparsers(dest="audit_cmd", required=True)
    p = audit.add_parser("verify", help="exit 0 if the chain is intact and matches its anchors, else 1 naming "
                                        "the first bad entry")
    p.set_defaults(func=cmd_audit_verify)
    p = audit.add_parser("anchor", help="append the chain's count and head to the anchor file now")
    p.set_defaults(func=cmd_audit_anchor)
    p = audit.add_parser("rekey", help="verify, then re-sign every entry under a new audit key")
    p.set_defaults(func=cmd_audit_rekey)

    demo = sub.add_parser("demo", help="publish the demo plan and create a login for every role")
    demo.add_argument("--language", default="zh", choices=["zh", "en"])
    demo.set_defaults(func=cmd_demo)

    manage = sub.add_parser("manage", help="run a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=lambda a: _manage(a.rest))

    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def _manage(rest: list[str]) -> int:
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["yingji", *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
