"""Shared by the Python tests: the parity table printed at the end of the run."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

#: Rows added by test_parity.py: (row text, hesse method, scipy method,
#: hesse nfev, scipy nfev).
PARITY_ROWS = []


def pytest_terminal_summary(terminalreporter):
    if not PARITY_ROWS:
        return
    tr = terminalreporter
    tr.section("hesse vs scipy.optimize on MGH problems (f, evaluations)")
    head = (
        f"{'problem':<22} {'hesse':<13} {'f':>10} {'nfev':>5} {'njev':>5} {'nhev':>5} {'Hv':>5}"
        f" | {'scipy':<11} {'f':>10} {'st':>2} {'nfev':>5} {'njev':>5} {'nhev':>5}  same x"
    )
    tr.write_line(head)
    sums = {}
    for text, hm, sm, hn, sn in PARITY_ROWS:
        tr.write_line(text)
        a = sums.setdefault((hm, sm), [0, 0])
        a[0] += hn
        a[1] += sn
    tr.write_line("nfev summed over the problems:")
    for (hm, sm), (hn, sn) in sums.items():
        tr.write_line(f"  {hm:<13} {hn:6d}   {sm:<11} {sn:6d}")
