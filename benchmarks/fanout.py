"""Activation fan-out: the plan activated, 300 people notified on 2 channels, to loopback sinks.

A plan with 300 extra people in a group the level-1 activation notifies, each reachable by email
(a real SMTP server on loopback) and by a webhook channel (a real HTTP server on loopback). One
`yingji worker` sends. Measures from the activation API call to the last of the 600 deliveries
arriving. Target (product.md §7): ≤ 10 s.

    python benchmarks/fanout.py [--people 300]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from yingji.core.instance import Instance
from yingji.core.sinks import HttpSink, SmtpSink
from yingji.plans.loader import template_text


def plan_text(people: int, hook_port: int) -> str:
    data: dict[str, Any] = yaml.safe_load(template_text("zh"))
    fans = [{"code": f"fan{i}", "name": f"员工{i}", "email": f"fan{i}@hospital.example", "mobile": "13900000000",
             "channels": ["email", "hook"]} for i in range(people)]
    data["people"] += fans
    data["organization"]["groups"].append({"code": "everyone", "name": "全院通知组",
                                           "members": [f["code"] for f in fans]})
    data["activation"][0]["notify"].append("group:everyone")
    data["notifications"]["channels"] = [{"code": "email", "kind": "email"},
                                         {"code": "hook", "kind": "webhook",
                                          "url": f"json://127.0.0.1:{hook_port}/hook?:who={{person}}"}]
    data["notifications"]["default_channels"] = ["email"]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def post(port: int, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, json.dumps(body), {"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
    response = conn.getresponse()
    payload = json.loads(response.read())
    assert response.status in (200, 201), payload
    return payload


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yingji-bench-") as tmp, SmtpSink() as smtp, HttpSink() as hook:
        instance = Instance(Path(tmp))
        instance.env["YINGJI_EMAIL_URL"] = smtp.url
        token = instance.setup(user="commander-1", role="commander", plan_text=plan_text(args.people, hook.port))
        instance.start(workers=1, threads=4, worker=True)
        try:
            incident = post(instance.port, token, "/api/v1/incidents",
                            {"system": "HIS", "symptom": "全院无法登录", "scope": "hospital"})
            time.sleep(2)  # the first pages go out; the clock starts at activation
            started = time.monotonic()
            post(instance.port, token, f"/api/v1/incidents/{incident['id']}/activate", {"level": "1"})
            queued_s = time.monotonic() - started

            def arrived() -> tuple[int, int]:
                mails = sum(1 for m in list(smtp.messages) if str(m["To"]).startswith("fan"))
                hooks = sum(1 for _, b in list(hook.requests) if str(b.get("who", "")).startswith("fan"))
                return mails, hooks

            deadline = started + 120
            while arrived() != (args.people, args.people) and time.monotonic() < deadline:
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            mails, hooks = arrived()
        finally:
            instance.kill()
    print(json.dumps({
        "benchmark": "fanout", "database": "sqlite", "workers": 1,
        "machine": f"{platform.machine()} {multiprocessing.cpu_count()} cores, Python {platform.python_version()}",
        "people": args.people, "channels": 2, "email_received": mails, "webhook_received": hooks,
        "activation_call_s": round(queued_s, 2), "all_delivered_s": round(elapsed, 2),
        "target_s": 10, "met": mails == hooks == args.people and elapsed <= 10}))


if __name__ == "__main__":
    main()
