#!/usr/bin/env python3
"""Send a Nagios or Icinga 2 notification to Yingji. Standard library only; copy it anywhere.

Nagios (a notification command; or `enable_environment_macros=1` and no arguments, which reads the
NAGIOS_* environment):

    define command {
        command_name  notify-yingji-service
        command_line  /usr/local/bin/yingji_notify.py --url https://yingji.example/integrations/nagios/TOKEN \\
                      --type "$NOTIFICATIONTYPE$" --host "$HOSTNAME$" --address "$HOSTADDRESS$" \\
                      --service "$SERVICEDESC$" --state "$SERVICESTATE$" --output "$SERVICEOUTPUT$" \\
                      --problem-id "$SERVICEPROBLEMID$"
    }

(for hosts: --state "$HOSTSTATE$" --output "$HOSTOUTPUT$" --problem-id "$HOSTPROBLEMID$", no --service).

Icinga 2 passes its values in the environment of a NotificationCommand (as its own
mail-host-notification.sh and mail-service-notification.sh read them): NOTIFICATIONTYPE,
HOSTNAME, HOSTADDRESS, HOSTSTATE, HOSTOUTPUT, SERVICENAME or SERVICEDESC, SERVICESTATE,
SERVICEOUTPUT, and YINGJI_URL for the address. Exit 0 once Yingji has it, 1 when Yingji refused
it (it says which field), 2 when Yingji could not be reached after the retries.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

FIELDS = ("type", "host", "address", "service", "state", "output", "problem_id")
# Where each field may come from in the environment: Nagios's environment macros, then Icinga 2's.
ENVIRONMENT = {
    "type": ("NAGIOS_NOTIFICATIONTYPE", "NOTIFICATIONTYPE"),
    "host": ("NAGIOS_HOSTNAME", "HOSTNAME"),
    "address": ("NAGIOS_HOSTADDRESS", "HOSTADDRESS"),
    "service": ("NAGIOS_SERVICEDESC", "SERVICENAME", "SERVICEDESC"),
    "state": ("NAGIOS_SERVICESTATE", "SERVICESTATE", "NAGIOS_HOSTSTATE", "HOSTSTATE"),
    "output": ("NAGIOS_SERVICEOUTPUT", "SERVICEOUTPUT", "NAGIOS_HOSTOUTPUT", "HOSTOUTPUT"),
    "problem_id": ("NAGIOS_SERVICEPROBLEMID", "NAGIOS_LASTSERVICEPROBLEMID", "NAGIOS_HOSTPROBLEMID",
                   "NAGIOS_LASTHOSTPROBLEMID"),
}
RETRIES = (1, 3, 9)  # seconds before each retry of a failed send


def from_environment(field: str) -> str:
    # A service's state wins over its host's only when the notification is about a service.
    names = ENVIRONMENT[field]
    if field in ("state", "output") and not from_environment("service"):
        names = tuple(n for n in names if "HOST" in n)
    return next((os.environ[n] for n in names if os.environ.get(n) and os.environ[n] != "$"), "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send a Nagios or Icinga notification to Yingji.")
    parser.add_argument("--url", default=os.environ.get("YINGJI_URL", ""))
    for field in FIELDS:
        parser.add_argument("--" + field.replace("_", "-"), dest=field, default=None)
    args = parser.parse_args(argv)
    if not args.url:
        print("yingji_notify: give --url or set YINGJI_URL", file=sys.stderr)
        return 1
    body = {f: (getattr(args, f) if getattr(args, f) is not None else from_environment(f)) for f in FIELDS}
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    for attempt, wait in enumerate((0, *RETRIES)):
        time.sleep(wait)
        request = urllib.request.Request(args.url, data=data, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                if 200 <= answer.status < 300:
                    return 0
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                print(f"yingji_notify: refused ({exc.code}): {exc.read().decode('utf-8', 'replace')}",
                      file=sys.stderr)
                return 1
            print(f"yingji_notify: attempt {attempt + 1}: {exc.code}", file=sys.stderr)
        except OSError as exc:
            print(f"yingji_notify: attempt {attempt + 1}: {exc}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
