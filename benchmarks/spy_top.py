"""Top functions of a py-spy raw profile (`py-spy record -f raw`): samples in which a
function is on the stack (inclusive) and at the top of the Python stack (own), as shares.

    .venv/bin/python benchmarks/spy_top.py prof.raw [N] [FILTER]   # FILTER "-": every sample
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def main() -> None:
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    keep = sys.argv[3] if len(sys.argv) > 3 else "FleetModel.run"  # samples of the run only
    incl, own, total = Counter(), Counter(), 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if keep not in stack and keep != "-":
            continue
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].split("/")[-1] + ")"
                  for f in stack.split(";")]
        total += int(count)
        for f in set(frames):
            incl[f] += int(count)
        own[frames[-1]] += int(count)
    print(f"{total} samples")
    for name, title in ((incl, "inclusive"), (own, "own")):
        print(f"-- {title}")
        for f, c in name.most_common(top):
            print(f"{100 * c / total:5.1f}%  {f}")


if __name__ == "__main__":
    main()
