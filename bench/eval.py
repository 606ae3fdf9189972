"""Benchmark: nanoseconds per flag evaluation, flagramp's compiled path vs baselines.

    .venv/bin/python bench/eval.py            # full run (~30 s)
    .venv/bin/python bench/eval.py --quick    # fewer repeats, a smoke test

Workloads (issue 3, "Benchmark"):
  W1 boolean kill switch, fully on;
  W2 25 % of actors;
  W3 eligibility segment `ehr == oracle` + 25 % of actors;
  W4 1,000 allow-listed actors + 200 denied actors + 25 % of actors.

10,000 pre-built actors (emails, `User;N`, UUIDs; half `ehr=oracle`, half
`ehr=vista`) are cycled through; every timed pass checks each actor once, so the
figure includes the caller's `for` loop and tuple unpacking (measured separately
and printed as "loop").

Implementations, timed in the same run on the same actors:
  flagramp  `Evaluator.compile(flag).is_enabled(flipper_id, properties)`;
  naive     a plain-Python evaluator as unleash-v5-style code writes it: a context
            dict built per check, gates walked in order as dicts, the bucket from
            `zlib.crc32((key + id).encode())`;
  explain   `Evaluator.explain(flag, [actor])`, which walks the gate objects and
            builds an `Evaluation` with its reason text (for people, not the hot path).
The ratio columns are baseline / flagramp (best of the repeats).
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Actor, Evaluator, Flag, Percentage, Segment

N_ACTORS = 10_000
SEED = 20261123
TARGET_NS = 500.0

Pair = tuple[str, dict[str, Any]]


# --- actors and flags ----------------------------------------------------------


def make_actors(n: int, seed: int) -> list[Pair]:
    """`n` (flipper_id, properties) pairs, varied ids, half oracle / half vista."""
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            fid = f"User;{rng.randrange(1, 10**9)}"
        elif kind == 1:
            fid = f"patient{rng.randrange(10**7)}@example.va.gov"
        else:
            fid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        props = {"ehr": "oracle" if i % 2 == 0 else "vista", "age": 20 + i % 70}
        pairs.append((fid, props))
    return pairs


def make_flags(pairs: Sequence[Pair]) -> dict[str, Flag]:
    pct = Percentage.parse("25")
    ids = [fid for fid, _ in pairs]
    return {
        "W1 boolean on": Flag(key="kill_switch", boolean=True),
        "W2 25% of actors": Flag(key="new_checkout", percentage_of_actors=pct),
        "W3 oracle + 25%": Flag(
            key="oracle_scheduling", percentage_of_actors=pct, eligibility="oracle"
        ),
        "W4 1k allow + deny + 25%": Flag(
            key="beta_portal",
            actors=tuple(ids[::10]),  # 1,000 allow-listed
            denied_actors=tuple(ids[5::50]),  # 200 denied
            percentage_of_actors=pct,
        ),
    }


SEGMENTS = {"oracle": Segment.from_rules("oracle", ["ehr == oracle"])}


# --- the naive baseline ----------------------------------------------------------


def naive_gates(flag: Flag) -> list[dict[str, Any]]:
    """The flag as a list of gate dicts, in Flipper's order, as stored JSON reads."""
    poa = flag.percentage_of_actors
    return [
        {"type": "deny", "values": list(flag.denied_actors)},
        {"type": "eligibility", "segment": flag.eligibility},
        {"type": "boolean", "value": flag.boolean},
        {"type": "actors", "values": list(flag.actors)},
        {"type": "percentage_of_actors", "value": poa.value if poa else 0.0},
        {"type": "groups", "values": list(flag.groups)},
    ]


def naive_segment_contains(segment: Segment, properties: dict[str, Any]) -> bool:
    return all(c.matches(properties) for c in segment.conditions)


def make_naive(flag: Flag) -> Callable[[str, dict[str, Any]], bool]:
    """A straightforward evaluator: a context dict per check, gates walked in order."""
    gates = naive_gates(flag)
    key = flag.key

    def is_enabled(flipper_id: str, properties: dict[str, Any]) -> bool:
        context: dict[str, Any] = {
            "flipper_id": flipper_id,
            "properties": dict(properties),
        }
        for gate in gates:
            kind = gate["type"]
            if kind == "deny":
                if context["flipper_id"] in gate["values"]:
                    return False
            elif kind == "eligibility":
                name = gate["segment"]
                if name is not None:
                    segment = SEGMENTS.get(name)
                    if segment is None or not naive_segment_contains(
                        segment, context["properties"]
                    ):
                        return False
            elif kind == "boolean":
                if gate["value"]:
                    return True
            elif kind == "actors":
                if context["flipper_id"] in gate["values"]:
                    return True
            elif kind == "percentage_of_actors":
                pct = gate["value"]
                if pct > 0:
                    bucket = (
                        zlib.crc32((key + context["flipper_id"]).encode()) % 100_000
                    )
                    if bucket < pct * 1_000:
                        return True
            elif kind == "groups":
                for name in gate["values"]:
                    segment = SEGMENTS.get(name)
                    if segment and naive_segment_contains(
                        segment, context["properties"]
                    ):
                        return True
        return False

    return is_enabled


# --- timing ----------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    best: float
    median: float


def time_pairs(
    check: Callable[[str, dict[str, Any]], bool],
    pairs: Sequence[Pair],
    passes: int,
    repeats: int,
) -> Timing:
    """ns per check over `passes` sweeps of `pairs`, best and median of `repeats`."""
    per_eval: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(repeats):
        start = clock()
        for _ in range(passes):
            for fid, props in pairs:
                check(fid, props)
        per_eval.append((clock() - start) / (passes * len(pairs)))
    return Timing(min(per_eval), statistics.median(per_eval))


def time_explain(
    evaluator: Evaluator,
    flag: Flag,
    actors: Sequence[Sequence[Actor]],
    passes: int,
    repeats: int,
) -> Timing:
    per_eval: list[float] = []
    clock = time.perf_counter_ns
    explain = evaluator.explain
    for _ in range(repeats):
        start = clock()
        for _ in range(passes):
            for one in actors:
                explain(flag, one)
        per_eval.append((clock() - start) / (passes * len(actors)))
    return Timing(min(per_eval), statistics.median(per_eval))


def _noop(_fid: str, _props: dict[str, Any]) -> bool:
    return False


def check_agreement(
    flag: Flag,
    evaluator: Evaluator,
    compiled: Callable[[str, dict[str, Any]], bool],
    naive: Callable[[str, dict[str, Any]], bool],
    pairs: Sequence[Pair],
) -> float:
    """Every implementation gives the same answers; returns the enabled share."""
    enabled = 0
    for fid, props in pairs:
        fast = compiled(fid, props)
        slow = naive(fid, props)
        explained = evaluator.explain(flag, [Actor(fid, props)]).enabled
        if not fast == slow == explained:
            raise SystemExit(
                f"{flag.key}: {fid} {props}: flagramp {fast}, naive {slow}, "
                f"explain {explained}"
            )
        enabled += fast
    return enabled / len(pairs)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeats, passes = (3, 2) if args.quick else (9, 10)
    explain_passes = 1

    started = time.perf_counter()
    pairs = make_actors(N_ACTORS, SEED)
    actor_lists = [[Actor(fid, props)] for fid, props in pairs]
    flags = make_flags(pairs)
    evaluator = Evaluator(SEGMENTS, VirtualClock(), random.Random(SEED).random)

    loop = time_pairs(_noop, pairs, passes, repeats)
    print(
        f"flagramp eval bench: {N_ACTORS:,} actors, {passes} passes x {repeats} "
        f"repeats (explain: {explain_passes} pass); Python "
        f"{platform.python_version()} on {platform.machine()}"
    )
    print(
        f"loop (for + unpack + call of a no-op function): "
        f"best {loop.best:.0f} ns, median {loop.median:.0f} ns (included below)"
    )
    print()
    print(
        "| workload | on | flagramp best | flagramp median | naive best "
        "| naive median | explain best | explain median | naive/flagramp "
        "| explain/flagramp |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    verdicts: list[str] = []
    for name, flag in flags.items():
        compiled = evaluator.compile(flag).is_enabled
        naive = make_naive(flag)
        share = check_agreement(flag, evaluator, compiled, naive, pairs)
        fast = time_pairs(compiled, pairs, passes, repeats)
        slow = time_pairs(naive, pairs, passes, repeats)
        expl = time_explain(evaluator, flag, actor_lists, explain_passes, repeats)
        print(
            f"| {name} | {share:.1%} | {fast.best:.0f} | {fast.median:.0f} "
            f"| {slow.best:.0f} | {slow.median:.0f} | {expl.best:.0f} "
            f"| {expl.median:.0f} | {slow.best / fast.best:.1f}x "
            f"| {expl.best / fast.best:.1f}x |"
        )
        if name.startswith(("W2", "W3")):
            ok = "meets" if fast.median <= TARGET_NS else "MISSES"
            verdicts.append(
                f"{name.split()[0]}: median {fast.median:.0f} ns {ok} the "
                f"{TARGET_NS:.0f} ns target"
            )
    print()
    print("ns per evaluation; " + "; ".join(verdicts))
    print(f"elapsed {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
