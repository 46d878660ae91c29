"""The outcomes plots (matplotlib, Agg), as SVG for the page and SVG or PNG downloads: the Kaplan-Meier curve of
durability with its 95% band, the response waterfall, and PCL-5 by week since the first infusion (median with the
interquartile band). Same house style as the check-in charts; every empty plot says why instead of drawing nothing.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from tenfour.core import cohort  # noqa: E402
from tenfour.core.claims import FOURTEEN_WEEKS_DAYS  # noqa: E402
from tenfour.outcomes.tallies import BASELINE_WEEK  # noqa: E402

BLUE, RED, GREEN, GREY, AMBER = "#1f5fbf", "#b3261e", "#1e6e3a", "#6b7280", "#8a5a00"
FEDER_MEDIAN_DAYS = 27.5
BARS_UP_TO = 300  # above this many patients the waterfall is drawn as a filled profile instead of bars
PROFILE_POINTS = 1500  # ... through at most this many of them (about two per pixel of the plot's width)
FORMATS = {"svg": "image/svg+xml", "png": "image/png"}
PLOTS = ("km", "waterfall", "trajectories")


def _axes(title: str, width_in: float = 7.0, height_in: float = 4.2) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=100)
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e4e8f0", linewidth=0.8)
    ax.tick_params(labelsize=10)
    return fig, ax


def _empty(ax: plt.Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color=GREY, fontsize=11,
            wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def render(fig: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "png":
        fig.savefig(buffer, format="png", dpi=150, metadata={"Software": None})
    else:
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def kaplan_meier(survival: cohort.Survival) -> Figure:
    """Share of responders still responding by days since the end of the course, with the 95% band, censoring
    ticks, the median, Feder 2021's 27.5 days and the seed's 14 weeks; patients at risk under the axis."""
    fig, ax = _axes(f"Responders still responding (n = {survival.n}, losses = {survival.events})")
    if survival.n == 0:
        _empty(ax, "No responder has been followed after the end of a course yet.")
        fig.tight_layout()
        return fig
    ax.step(survival.timeline, survival.survival, where="post", color=BLUE, linewidth=2, label="still responding")
    ax.fill_between(survival.timeline, survival.lower, survival.upper, step="post", color=BLUE, alpha=0.15,
                    linewidth=0, label="95% interval")
    if survival.censored_times:
        heights = [survival.at(t).value or 0.0 for t in survival.censored_times]
        ax.plot(survival.censored_times, heights, linestyle="none", marker="|", markersize=9, color=BLUE,
                label="censored (still responding when last seen)")
    last = max(max(survival.timeline), FOURTEEN_WEEKS_DAYS + 7)
    ax.axhline(0.5, color=GREY, linestyle=":", linewidth=1)
    ax.axvline(FEDER_MEDIAN_DAYS, color=GREY, linestyle="--", linewidth=1)
    ax.text(FEDER_MEDIAN_DAYS + 1, 0.03, "Feder 2021 median 27.5 d", fontsize=9, color=GREY)
    ax.axvline(FOURTEEN_WEEKS_DAYS, color=AMBER, linestyle=":", linewidth=1.2)
    ax.text(FOURTEEN_WEEKS_DAYS + 1, 0.93, "14 weeks (seed claim)", fontsize=9, color=AMBER)
    if survival.median.value is not None:
        ax.plot([survival.median.value], [0.5], marker="o", color=RED, markersize=6, linestyle="none",
                label=f"median {survival.median.value:g} days")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, last)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("Still responding", fontsize=10)
    step = 14 if last <= 140 else 28 if last <= 365 else 56
    ticks = list(range(0, int(last) + 1, step))
    ax.set_xticks(ticks, [f"{t}\n{survival.at_risk(t)}" for t in ticks])
    ax.set_xlabel("Days since the end of the course (second row: patients still followed)", fontsize=10)
    ax.legend(loc="upper right", fontsize=8, frameon=False, bbox_to_anchor=(1.0, 0.9))
    fig.tight_layout()
    return fig


def _percent_changes(waterfall: Mapping[tuple[int, int, bool], int]) -> list[tuple[float, bool]]:
    changes = []
    for (baseline, best, responded), count in waterfall.items():
        change = 0.0 if baseline == 0 else 100.0 * (best - baseline) / baseline
        changes.extend([(change, responded)] * count)
    return sorted(changes, key=lambda c: -c[0])


def waterfall(counts: Mapping[tuple[int, int, bool], int], response_pcts: Iterable[int]) -> Figure:
    """Each patient's best change in PCL-5 from the course baseline (%), worst first; responders in green."""
    changes = _percent_changes(counts)
    fig, ax = _axes(f"Best change from baseline, each patient (n = {len(changes)})")
    if not changes:
        _empty(ax, "No course has ended with a PCL-5 score yet.")
        fig.tight_layout()
        return fig
    xs = list(range(len(changes)))
    colours = [GREEN if responded else GREY for _, responded in changes]
    if len(changes) <= BARS_UP_TO:
        ax.bar(xs, [c for c, _ in changes], color=colours, width=0.85)
    else:  # a profile: at most PROFILE_POINTS of the sorted patients, evenly spaced by rank (the shape, drawn fast)
        n = len(changes)
        if n > PROFILE_POINTS:
            xs = sorted({round(i * (n - 1) / (PROFILE_POINTS - 1)) for i in range(PROFILE_POINTS)})
        values = [changes[x][0] for x in xs]
        responders = [changes[x][0] if changes[x][1] else 0.0 for x in xs]
        others = [0.0 if changes[x][1] else changes[x][0] for x in xs]
        ax.fill_between(xs, others, step="mid", color=GREY, linewidth=0)
        ax.fill_between(xs, responders, step="mid", color=GREEN, linewidth=0)
        ax.plot(xs, values, color="#333333", linewidth=0.5, drawstyle="steps-mid")
    for pct in sorted(set(response_pcts)):
        ax.axhline(-pct, color=GREEN, linestyle=":", linewidth=1.2, label=f"response: {pct}% or more lower")
    ax.axhline(0, color="#333333", linewidth=0.8)
    ax.legend(loc="lower left", fontsize=8, frameon=True, framealpha=0.9)
    low = min(-100.0, min(c for c, _ in changes) - 5)
    high = max(20.0, max(c for c, _ in changes) + 5)
    ax.set_ylim(low, high)
    ax.set_ylabel("Change from baseline (%)", fontsize=10)
    ax.set_xticks([])
    ax.set_xlabel("Patients, from the least to the most improved (green: responded)", fontsize=10)
    fig.tight_layout()
    return fig


def trajectories(counts: Mapping[tuple[int, int], int], cutoffs: Iterable[int]) -> Figure:
    """PCL-5 by week since the first infusion: the median and the interquartile band of each week's latest score
    (the baseline at 'before'), with the number of patients under each week."""
    by_week: dict[int, dict[int, int]] = defaultdict(dict)
    for (week, score), count in counts.items():
        if count:
            by_week[week][score] = by_week[week].get(score, 0) + count
    weeks = sorted(by_week)
    fig, ax = _axes(f"PCL-5: median and middle half ({sum(by_week.get(BASELINE_WEEK, {}).values())} patients)")
    if not weeks:
        _empty(ax, "No course with a baseline PCL-5 has started yet.")
        fig.tight_layout()
        return fig
    stats = [(w, cohort.quartiles(by_week[w])) for w in weeks]
    xs = [w for w, _ in stats]
    q1 = [q[0] for _, q in stats if q]
    q2 = [q[1] for _, q in stats if q]
    q3 = [q[2] for _, q in stats if q]
    ax.fill_between(xs, q1, q3, color=BLUE, alpha=0.18, linewidth=0, label="middle half (25th-75th percentile)")
    ax.plot(xs, q2, color=BLUE, marker="o", markersize=4, linewidth=2, label="median")
    for cutoff in sorted(set(cutoffs)):
        ax.axhline(cutoff, color=RED, linestyle="--", linewidth=1)
        ax.text(0.005, cutoff - 4.5, f"provisional PTSD cutoff {cutoff}", transform=ax.get_yaxis_transform(),
                ha="left", fontsize=9, color=RED)
    ax.set_ylim(0, 80)
    ax.set_ylabel("PCL-5 (0-80, lower is better)", fontsize=10)
    span = max(xs) - min(xs)
    step = 1 if span <= 16 else 2 if span <= 32 else 4 if span <= 64 else 8
    ticks = [BASELINE_WEEK] + [w for w in range(0, max(xs) + 1, step)]
    labels = [f"{'before' if t == BASELINE_WEEK else t}\n{sum(by_week.get(t, {}).values())}" for t in ticks]
    ax.set_xticks(ticks, labels)
    ax.set_xlabel("Weeks since the first infusion (second row: patients with a score that week)", fontsize=10)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
