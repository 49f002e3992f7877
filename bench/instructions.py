"""The scorer's instructions per event, counted by valgrind: a figure the machine's noise does not move.

    python -m bench.instructions [--shoppers 1000] [--baseline DIR]

On a shared virtual machine the scorer's CPU time per event moves by a third from run to run (the
hypervisor, other tenants, the clock), so two versions of the code measured by time a few minutes apart
can differ by more than a change does. Instructions executed do not move: each version of the scorer is
run under `valgrind --tool=cachegrind` (instructions counted, no cache simulation) over the events of
``--shoppers`` shoppers (bench/scorer.py's traffic, seed 0), once to fill the streams only and once to
fill them and consume them with one `Scorer`, as bench/scorer.py does; the difference, divided by the
events applied, is the scorer's instructions per event. Once more without recording for replay
(``--replay-days 0``). With ``--baseline DIR`` (a git worktree of another commit: ``git worktree add
/tmp/base <commit>``) the same is counted for that code, two valgrind runs at a time.

Instructions are not time: a cache miss costs more than an instruction, and the Redis server is not
counted (it is another process). They say which of two versions does less work, and by how much, at any
time of day. valgrind slows Python about 50 times: 1,000 shoppers take about 2 minutes. Writes
var/bench/instructions.json.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "var" / "bench" / "instructions.json"
MODES = ("setup", "scorer", "unrecorded")  # streams filled only; and consumed; and consumed, nothing recorded
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def child(shoppers: int, mode: str) -> None:
    """Under valgrind, in the code tree being counted (its bench.scorer and scorer packages)."""
    sys.path[0] = str(Path.cwd())  # the tree's packages, not this script's directory (bench/scorer.py is no package)
    # Only what bench/scorer.py has had since before 2026-12-04 is used, so that a baseline of then can be counted.
    from bench import scorer as bench_scorer  # this tree's
    from scorer.consumer import Scorer
    from tracker import stream

    events = bench_scorer.traffic(shoppers, 0)
    with bench_scorer.server_with_rules() as (server, redis):
        for start in range(0, len(events), 500):  # bench_scorer.fill, which a baseline may not have
            stream.append(redis, "bench-site", events[start:start + 500], bench_scorer.SHARDS)
        if mode == "setup":
            print("applied 0")
            return
        if mode == "unrecorded":
            Scorer.replay_days = 0  # as `handrail scorer --replay-days 0`
        print(f"applied {bench_scorer.run_scorer(redis, events, server.process.pid)['events']}")


def count(tree: Path, shoppers: int, mode: str) -> tuple[int, int]:
    """(instructions, events applied) of one run of ``child`` in ``tree`` under valgrind."""
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", sys.executable,
         str(Path(__file__).resolve()), "--child", mode, "--shoppers", str(shoppers)],
        cwd=tree, capture_output=True, text=True, check=True)
    refs = _REFS.search(done.stderr)
    applied = re.search(r"^applied (\d+)$", done.stdout, re.M)
    if refs is None or applied is None:
        raise RuntimeError(f"no instruction count from the run in {tree} ({mode}): {done.stderr[-500:]}")
    return int(refs.group(1).replace(",", "")), int(applied.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=1000)
    parser.add_argument("--baseline", type=Path, help="another code tree (a git worktree) counted beside this one")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        child(args.shoppers, args.child)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 2
    trees = {"this code": Path(__file__).resolve().parent.parent}
    if args.baseline:
        trees["baseline"] = args.baseline.resolve()
    runs = [(name, mode) for name in trees for mode in MODES]
    with ThreadPoolExecutor(max_workers=2) as pool:  # valgrind runs one thread: two at a time on two cores
        counted = dict(zip(runs, pool.map(lambda run: count(trees[run[0]], args.shoppers, run[1]), runs)))
    result = {"shoppers": args.shoppers, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "trees": {name: str(tree) for name, tree in trees.items()}, "figures": {}}
    print(f"{'code':<12}{'events':>9}{'instructions an event':>24}{'not recorded for replay':>26}")
    for name in trees:
        setup = counted[(name, "setup")][0]
        (scored, events), (unrecorded, _) = counted[(name, "scorer")], counted[(name, "unrecorded")]
        figures = {"events": events, "per_event": round((scored - setup) / events),
                   "per_event_unrecorded": round((unrecorded - setup) / events)}
        result["figures"][name] = figures
        print(f"{name:<12}{events:>9,}{figures['per_event']:>24,}{figures['per_event_unrecorded']:>26,}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nfigures written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
