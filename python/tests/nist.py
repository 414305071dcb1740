"""A reader of NIST StRD nonlinear regression .dat files (the repository's
tests/data/nist/), for the curve_fit tests: start values, certified values
and the data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "nist"


def read(name):
    """(start1, start2, certified, certified_std, x, y) of `name`.dat."""
    lines = (DATA / f"{name}.dat").read_text().splitlines()
    start1, start2, cert, std = [], [], [], []
    data_at = None
    for i, line in enumerate(lines):
        m = re.match(r"\s*b\d+\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", line)
        if m:
            a, b, c, d = (float(v) for v in m.groups())
            start1.append(a)
            start2.append(b)
            cert.append(c)
            std.append(d)
        if line.startswith("Data:") and re.search(r"\by\b", line) and re.search(r"\bx\b", line):
            data_at = i + 1
    xy = np.array([[float(v) for v in ln.split()] for ln in lines[data_at:] if ln.strip()])
    return (
        np.array(start1),
        np.array(start2),
        np.array(cert),
        np.array(std),
        xy[:, 1],
        xy[:, 0],
    )


MODELS = {
    "Misra1a": lambda x, b1, b2: b1 * (1 - np.exp(-b2 * x)),
    "Misra1b": lambda x, b1, b2: b1 * (1 - (1 + b2 * x / 2) ** (-2)),
    "Chwirut2": lambda x, b1, b2, b3: np.exp(-b1 * x) / (b2 + b3 * x),
    "DanWood": lambda x, b1, b2: b1 * x**b2,
    "MGH09": lambda x, b1, b2, b3, b4: b1 * (x**2 + x * b2) / (x**2 + x * b3 + b4),
    "Thurber": lambda x, b1, b2, b3, b4, b5, b6, b7: (
        (b1 + b2 * x + b3 * x**2 + b4 * x**3) / (1 + b5 * x + b6 * x**2 + b7 * x**3)
    ),
    "Eckerle4": lambda x, b1, b2, b3: (b1 / b2) * np.exp(-0.5 * ((x - b3) / b2) ** 2),
}
