"""The benchmark's markdown: the side-by-side table against the targets of issue 11, then agentplatform's own
breakdowns (CPU by process, how cost grows, memory per worker) and the in-process floor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.ceiling import Ceiling
from bench.figures import Burst, ServerFigures, Throughput
from bench.floor import Floor

MB = 1024 * 1024


@dataclass(frozen=True)
class Figure:
    label: str
    value: Callable[[ServerFigures], float]
    text: Callable[[ServerFigures], str]
    target: str
    met: Callable[[float, float | None], bool | None]


def _relative(factor: float, higher_is_better: bool) -> Callable[[float, float | None], bool | None]:
    def met(ours: float, official: float | None) -> bool | None:
        if official is None:
            return None
        return ours >= factor * official if higher_is_better else ours <= factor * official

    return met


def _at_most(limit: float) -> Callable[[float, float | None], bool]:
    return lambda ours, _official: ours <= limit


def _at_least(limit: float) -> Callable[[float, float | None], bool]:
    return lambda ours, _official: ours >= limit


def _throughput_text(figures: ServerFigures) -> str:
    failed = f" ({figures.throughput.failed} failed)" if figures.throughput.failed else ""
    return f"{figures.throughput.rate:.0f} runs/s{failed}"


def _burst_losses(figures: ServerFigures) -> float:
    return figures.burst.refused + figures.burst.lost + figures.burst.failed


FIGURES = [
    Figure(
        "throughput, 16 clients doing create+wait",
        lambda f: f.throughput.rate,
        _throughput_text,
        "≥ 1.2x official",
        _relative(1.2, True),
    ),
    Figure(
        "server CPU per run at that load (all server processes)",
        lambda f: f.throughput.cpu_ms_per_run,
        lambda f: f"{f.throughput.cpu_ms_per_run:.1f} ms",
        "≤ 12 ms",
        _at_most(12),
    ),
    Figure(
        "background `runs.create` accepted per second (64 in flight)",
        lambda f: f.burst.accepted_per_second,
        lambda f: f"{f.burst.accepted_per_second:.0f} /s",
        "≥ 500 /s",
        _at_least(500),
    ),
    Figure(
        "`threads.create` per second (64 in flight)",
        lambda f: f.burst.threads_per_second,
        lambda f: f"{f.burst.threads_per_second:.0f} /s",
        "≥ 800 /s",
        _at_least(800),
    ),
    Figure(
        "{burst} runs submitted at once: first submit to last done",
        lambda f: f.burst.drain_seconds,
        lambda f: f"{f.burst.drain_seconds:.1f} s",
        "≤ 0.75x official",
        _relative(0.75, False),
    ),
    Figure(
        "… of which refused / lost / failed",
        _burst_losses,
        lambda f: f"{f.burst.refused} / {f.burst.lost} / {f.burst.failed}",
        "0 / 0 / 0",
        _at_most(0),
    ),
    Figure(
        "create+wait p50, one client",
        lambda f: f.wait.p50_ms,
        lambda f: f"{f.wait.p50_ms:.1f} ms (p95 {f.wait.p95_ms:.0f}, n={len(f.wait.samples)})",
        "≤ 15 ms",
        _at_most(15),
    ),
    Figure(
        "first SSE event p50",
        lambda f: f.first_event.p50_ms,
        lambda f: f"{f.first_event.p50_ms:.1f} ms (n={len(f.first_event.samples)})",
        "≤ 10 ms",
        _at_most(10),
    ),
    Figure(
        "first token p50 (`messages-tuple`, {tokens}-token fake chat model)",
        lambda f: f.first_token.p50_ms,
        lambda f: f"{f.first_token.p50_ms:.1f} ms (n={len(f.first_token.samples)})",
        "≤ 12 ms",
        _at_most(12),
    ),
]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(ours: float, official: float) -> str:
    return f"{ours / official:.2f}x" if official else "-"


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "-"}[met]


def side_by_side(official: ServerFigures | None, ours: ServerFigures) -> str:
    rows = []
    for figure in FIGURES:
        label = figure.label.format(burst=ours.burst.runs, tokens=int(ours.first_token.extra["tokens"]))
        official_value = figure.value(official) if official else None
        official_text = figure.text(official) if official else "not measured"
        ratio = _ratio(figure.value(ours), official_value) if official else "-"
        met = figure.met(figure.value(ours), official_value)
        rows.append([label, official_text, figure.text(ours), ratio, figure.target, _verdict(met)])
    return table(["figure", "official `langgraph dev`", "agentplatform", "ours ÷ official", "target", ""], rows)


def ceiling_table(ceilings: list[tuple[str, Ceiling]]) -> str:
    """The client's own ceiling (bench/ceiling.py): the burst's request loops against a server that does no work,
    measured before and after the side-by-side figures."""
    rows = [
        [
            when,
            f"{ceiling.threads_per_second:.0f} /s",
            f"{ceiling.accepted_per_second:.0f} /s",
            f"{ceiling.client_ms_per_request:.2f} ms",
            f"{ceiling.server_ms_per_request:.2f} ms",
        ]
        for when, ceiling in ceilings
    ]
    header = ["measured", "`threads.create` (64 in flight)", "`runs.create` (64 in flight)", "client CPU a request"]
    title = (
        "The client's ceiling: the same request loops against a server that answers without doing any work "
        "(`bench/ceiling.py`, one Daphne process). A rate figure near it is bounded by the client, not the server"
    )
    return f"{title}:\n\n" + table([*header, "that server's CPU a request"], rows)


def cpu_breakdown(name: str, throughput: Throughput) -> str:
    groups = list(throughput.cpu)
    row = [f"{throughput.group_ms_per_run(group):.1f} ms" for group in groups]
    row += [f"**{throughput.cpu_ms_per_run:.1f} ms**", f"{throughput.client_cpu / throughput.runs * 1000:.1f} ms"]
    return f"{name}:\n\n" + table([*groups, "server total", "client (SDK)"], [row])


def scaling(rows: list[tuple[str, Throughput]]) -> str:
    groups = list(rows[0][1].cpu)
    body = []
    for label, figures in rows:
        cells = [label, f"{figures.rate:.0f}", f"{figures.cpu_ms_per_run:.1f} ms"]
        cells += [f"{figures.group_ms_per_run(group):.1f}" for group in groups]
        body.append([*cells, str(figures.failed)])
    return table(["load (create+wait)", "runs/s", "server CPU/run", *[f"{g} ms" for g in groups], "failed"], body)


def memory(rows: list[tuple[int, int, int, Burst]]) -> str:
    body = []
    for jobs, idle, peak, result in rows:
        losses = f"{result.refused} / {result.lost} / {result.failed}"
        body.append([str(jobs), f"{idle / MB:.0f} MB", f"{peak / MB:.0f} MB", str(result.runs), losses])
    header = ["N_JOBS_PER_WORKER", "RSS per worker, warmed up", "peak RSS per worker", "`sleeper` runs at once"]
    return table([*header, "refused / lost / failed"], body)


def floor_table(result: Floor) -> str:
    row = [
        result.durability,
        f"{result.sequential_p50_ms:.1f} ms",
        f"{result.sequential_rate:.0f}",
        f"{result.concurrent_rate:.0f} runs/s",
    ]
    return table(["durability", "sequential p50", "sequential runs/s", f"{result.concurrency} concurrent"], [row])
