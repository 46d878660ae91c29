"""The check-in trajectory as SVG: PCL-5 at each check-in since the course began, against the patient's own lines —
baseline, the response line (30% below baseline), the best score and the reliable-worsening line above it — with the
infusions marked. matplotlib (Agg); pages show it as an image with a text alternative and a table beside it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

BLUE, RED, GREEN, GREY, AMBER = "#1f5fbf", "#b3261e", "#1e6e3a", "#6b7280", "#8a5a00"


@dataclass(frozen=True)
class Lines:
    baseline: int
    response_limit: int  # at or below: response (policy outcome.response_reduction_pct)
    best: int | None
    reliable_change: int  # points above the best that count as reliable worsening (policy pcl5.reliable_change)


def trajectory_svg(points: list[tuple[date, int]], lines: Lines | None, infusions: list[datetime],
                   for_patient: bool = False, width_in: float = 6.0) -> bytes:
    fig, ax = plt.subplots(figsize=(width_in, 4.0), dpi=100)
    ax.set_ylim(0, 80)
    ax.set_ylabel("PCL-5 (0-80)", fontsize=10)
    ax.set_title("PTSD symptoms at each check-in" + (" (lower is better)" if for_patient else ""), loc="left",
                 fontsize=12, fontweight="bold")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e4e8f0", linewidth=0.8)
    days = [d for d, _ in points] + [i.date() for i in infusions]
    for when in infusions:
        ax.axvline(when.date(), color=AMBER, alpha=0.35, linewidth=1.2)
    if lines is not None:
        ax.axhline(lines.baseline, color=GREY, linestyle="--", linewidth=1)
        ax.text(0.005, lines.baseline + 1.2, f"before treatment {lines.baseline}", transform=ax.get_yaxis_transform(),
                fontsize=10, color=GREY)
        ax.axhspan(0, lines.response_limit, color=GREEN, alpha=0.07)
        ax.axhline(lines.response_limit, color=GREEN, linestyle=":", linewidth=1)
        ax.text(0.005, max(1.0, lines.response_limit - 5), f"response: {lines.response_limit} or lower",
                transform=ax.get_yaxis_transform(), fontsize=10, color=GREEN)
        if lines.best is not None:
            worse = lines.best + lines.reliable_change
            ax.axhline(worse, color=RED, linestyle=":", linewidth=1)
            ax.text(0.995, worse + 1.2, f"{lines.reliable_change} above your best ({lines.best}): watch"
                    if for_patient else f"best {lines.best} + {lines.reliable_change}: reliable worsening",
                    transform=ax.get_yaxis_transform(), ha="right", fontsize=10, color=RED)
    if points:
        ax.plot([d for d, _ in points], [s for _, s in points], marker="o", color=BLUE, linewidth=2, markersize=5)
        last_day, last = points[-1]
        ax.annotate(str(last), (last_day, last), textcoords="offset points", xytext=(6, 4), fontsize=11, color=BLUE,
                    fontweight="bold")
        if lines is not None and lines.best is not None:
            best_day = next((d for d, s in points if s == lines.best), None)
            if best_day is not None:
                ax.plot([best_day], [lines.best], marker="*", color=GREEN, markersize=12, linestyle="none")
    else:
        ax.text(0.5, 0.5, "no check-in scores yet", transform=ax.transAxes, ha="center", va="center", color=GREY)
    if days:
        low, high = min(days), max(days)
        pad = max((high - low) * 0.05, timedelta(days=2))
        ax.set_xlim(low - pad, high + pad)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.tick_params(labelsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()
