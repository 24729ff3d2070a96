"""A plan with second-scale deadlines and channels pointed at loopback sinks: the shipped plans
(`zh`, `en`) or the second hospital's (`second`, tests/plans/second_hospital.yaml)."""

from __future__ import annotations

from typing import Any

import yaml

from .hospitals import plan_text

FAST_TIMERS = {"acknowledge": "2s", "on_site": "3s", "fix": "4s", "department_ack": "2s"}


def fast_plan_text(sms_port: int, language: str = "zh", **timers: str) -> str:
    data: dict[str, Any] = yaml.safe_load(plan_text(language))
    data["timers"].update({**FAST_TIMERS, **{k: v for k, v in timers.items() if k in FAST_TIMERS}})
    data["timers"]["modes"][0]["after"] = timers.get("standalone", "3s")
    data["timers"]["modes"][1]["after"] = timers.get("manual", "1h")
    data["notifications"]["channels"] = [
        {"code": "email", "kind": "email"},
        {"code": "sms", "kind": "sms", "url": f"json://127.0.0.1:{sms_port}/sms?:to={{mobile}}"},
    ]
    data["notifications"]["default_channels"] = ["email", "sms"]
    for person in data["people"]:
        person.pop("channels", None)
    data["notifications"]["retry"] = ["1s", "1s"]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
