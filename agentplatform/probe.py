"""Health of the worker and beat for exec probes (Kubernetes, compose): `python -m agentplatform.probe worker`
exits 0 while the worker's consumer takes work, 1 otherwise; `... beat` the same for a ticking beat.

Each reads the age of the liveness file its process touches: the worker's consumer watchdog touches
WORKER_LIVENESS_FILE each time a probe message went through the broker and back through the consumer (or the
broker is down, which restarting the worker would not mend; agentplatform.consumer_watchdog), beat touches
BEAT_LIVENESS_FILE after each tick that reached the broker (agentplatform.beat). A missing file is unhealthy: the
process has not started consuming or ticking yet (give the probe an initial delay). Django is not set up: a
probe costs a Python start-up and the import of the Celery app, well under a second.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# Which file each process touches, and how old it may grow by default: the watchdog repairs or exits a stuck
# consumer within ~80 s, and beat ticks at least every second.
KINDS = {"worker": ("WORKER_LIVENESS_FILE", 300.0), "beat": ("BEAT_LIVENESS_FILE", 60.0)}


def file_age(path: str, now: float | None = None) -> float | None:
    """Seconds since `path` was last touched, None when it does not exist."""
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        return None
    return (time.time() if now is None else now) - mtime


def check(kind: str, *, path: str | None = None, max_age: float | None = None) -> tuple[bool, str]:
    """(healthy, why) for `kind` (worker or beat)."""
    variable, default_age = KINDS[kind]
    path = path or os.environ.get(variable, "")
    if not path:
        return False, f"{variable} is not set: set it for the {kind} and for this probe"
    limit = default_age if max_age is None else max_age
    age = file_age(path)
    if age is None:
        return False, f"{path} does not exist: the {kind} has not reported in yet"
    if age > limit:
        return False, f"{path} is {age:.0f}s old (more than {limit:.0f}s): the {kind} is stuck"
    return True, f"{path} is {age:.0f}s old"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentplatform.probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("--file", help="the liveness file (default: WORKER_LIVENESS_FILE / BEAT_LIVENESS_FILE)")
    parser.add_argument("--max-age", type=float, help="seconds (default: worker 300, beat 60)")
    args = parser.parse_args(argv)
    healthy, why = check(args.kind, path=args.file, max_age=args.max_age)
    print(f"{args.kind} {'healthy' if healthy else 'unhealthy'}: {why}", file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
