"""`whatif.png`: stations on a map coloured by their change in reach; the figures side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["draw_whatif"]


def draw_whatif(document: dict[str, Any], out: Path) -> None:
    """Left: stations (closed ones crossed) coloured by calls reached within 30 min,
    replayed minus recorded; right: answer-to-arrival and reach, recorded against replayed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    stations = document["stations"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [3, 2]})
    calls = document["calls"]
    left.scatter(
        [c["lon"] for c in calls], [c["lat"] for c in calls], s=3, c="#bbbbbb", label="calls"
    )
    kept = [s for s in stations if s["change"] != "closed"]
    changes = [s["reach_change"] for s in kept] or [0]
    span = max(1, max(abs(v) for v in changes))
    drawn = left.scatter(
        [s["lon"] for s in kept],
        [s["lat"] for s in kept],
        c=[s["reach_change"] for s in kept],
        cmap="RdBu",
        norm=TwoSlopeNorm(vcenter=0, vmin=-span, vmax=span),
        s=[22 if s["change"] == "kept" else 60 for s in kept],
        edgecolors=["black" if s["change"] == "added" else "none" for s in kept],
        label="stations",
    )
    closed = [s for s in stations if s["change"] == "closed"]
    if closed:
        left.scatter(
            [s["lon"] for s in closed],
            [s["lat"] for s in closed],
            marker="x",
            s=70,
            c="black",
            label="closed",
        )
    fig.colorbar(drawn, ax=left, label="calls reached within 30 min: replayed - recorded")
    left.set_xlabel("longitude")
    left.set_ylabel("latitude")
    left.set_title(f"{document['from'][:16]} .. {document['to'][:16]}")
    left.legend(loc="lower right", fontsize=8)

    recorded, replayed = document["overall"]["recorded"], document["overall"]["replayed"]
    labels = ["median min", "p90 min", "% within 30", "% within 60"]

    def values(figures: dict[str, Any]) -> list[float]:
        return [
            figures["answer_to_arrival_median_min"] or 0,
            figures["answer_to_arrival_p90_min"] or 0,
            100 * (figures["within_30_min"] or 0),
            100 * (figures["within_60_min"] or 0),
        ]

    positions = range(len(labels))
    right.bar([p - 0.2 for p in positions], values(recorded), width=0.4, label="recorded")
    right.bar([p + 0.2 for p in positions], values(replayed), width=0.4, label="replayed")
    right.set_xticks(list(positions), labels)
    right.set_title(
        f"{recorded['calls']} calls; queued {recorded['queued']} recorded, "
        f"{replayed['queued']} replayed"
    )
    right.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
