"""Side-by-side kernel benchmark (alternating A/B rounds, median ratios) writing JSON.

    PYTHONPATH=python python benchmarks/side_by_side.py --threads 2 --json bench-kernels.json [--shapes bert]

Same as `spiralkit bench kernels`; kept here so the benchmarks/ folder runs on its own.
"""

import argparse
import sys

from spiralkit.cli.bench import add_parser


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="side_by_side")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    args = parser.parse_args(["bench", "kernels", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
