"""One row of the benchmark table: a figure next to its baseline, measured in the same run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    bench: str
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline: float

    def ratio(self) -> str:
        if not self.baseline:
            return "-"
        return f"{self.value / self.baseline:.2f}x"


def _number(value: float, unit: str) -> str:
    shown = f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"
    return f"{shown} {unit}"


def table(figures: list[Figure]) -> str:
    """The figures as one aligned text table."""
    header = ("benchmark", "figure", "value", "baseline (same run)", "baseline", "ratio")
    rows = [header] + [
        (
            f.bench,
            f.name,
            _number(f.value, f.unit),
            f.baseline_name,
            _number(f.baseline, f.unit),
            f.ratio(),
        )
        for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)
