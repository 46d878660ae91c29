"""Score trajectories as SVG: PCL-5, PHQ-9 and GAD-7 over time, with cutoff or band lines and treatment dates.

matplotlib (Agg) draws the figure; the page shows it as an image with a text alternative and a data table.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

# One panel per instrument family: the PCL-5 forms share a 0-80 scale (the 8-item form is not mixed in).
PANELS = (
    ("PCL-5 (PTSD symptoms)", ("pcl5", "pcl5-week"), 80),
    ("PHQ-9 (depression)", ("phq9",), 27),
    ("GAD-7 (anxiety)", ("gad7",), 21),
)
BAND_LINES = {"PHQ-9 (depression)": (5, 10, 15, 20), "GAD-7 (anxiety)": (5, 10, 15)}
COLOURS = {"PCL-5 (PTSD symptoms)": "#1f5fbf", "PHQ-9 (depression)": "#8a3ffc", "GAD-7 (anxiety)": "#1e6e3a"}


@dataclass(frozen=True)
class Point:
    instrument_id: str
    at: datetime
    total: int


def trajectory_svg(points: list[Point], pcl5_cutoff: int, treatments: list[datetime], tz: str = "UTC",
                   width_in: float = 7.5) -> bytes:
    """Three stacked panels sharing the time axis. Empty panels say so instead of drawing nothing."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(width_in, 6.6), sharex=True, dpi=100)
    times = [p.at for p in points] + list(treatments)
    for ax, (title, ids, maximum) in zip(axes, PANELS, strict=True):
        series = sorted((p for p in points if p.instrument_id in ids), key=lambda p: p.at)
        colour = COLOURS[title]
        ax.set_ylim(0, maximum)
        ax.set_ylabel("score")
        ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
        ax.grid(axis="y", color="#e4e8f0", linewidth=0.8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if title.startswith("PCL-5"):
            ax.axhline(pcl5_cutoff, color="#b3261e", linestyle="--", linewidth=1)
            ax.text(0.995, pcl5_cutoff + 1.5, f"clinic cutoff {pcl5_cutoff}", transform=ax.get_yaxis_transform(),
                    ha="right", fontsize=8, color="#b3261e")
        for line in BAND_LINES.get(title, ()):
            ax.axhline(line, color="#c9ced6", linestyle=":", linewidth=0.9)
        for when in treatments:
            ax.axvline(when.astimezone(zone), color="#8a5a00", alpha=0.35, linewidth=1.2)
        if series:
            ax.plot([p.at.astimezone(zone) for p in series], [p.total for p in series], marker="o",
                    color=colour, linewidth=2, markersize=5)
            last = series[-1]
            ax.annotate(str(last.total), (last.at.astimezone(zone), last.total), textcoords="offset points",
                        xytext=(6, 4), fontsize=9, color=colour, fontweight="bold")
        else:
            ax.text(0.5, 0.5, "no scores yet", transform=ax.transAxes, ha="center", va="center", color="#4f5660")
    if times:
        low, high = min(times), max(times)
        pad = max((high - low) * 0.05, (high - low).__class__(days=2))
        axes[-1].set_xlim((low - pad).astimezone(zone), (high + pad).astimezone(zone))
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%d %b", tz=zone))
    if treatments:
        axes[0].plot([], [], color="#8a5a00", alpha=0.5, linewidth=1.2, label="infusion")
        axes[0].legend(loc="upper right", fontsize=8, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()
