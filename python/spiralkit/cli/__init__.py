"""The ``spiralkit`` command line. Each subcommand is its own module exposing
``add_parser(subparsers)`` (which sets ``func``); heavy imports (torch) happen inside ``func``."""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> module; a module missing from this checkout is skipped, not fatal.
SUBCOMMANDS = {
    "bench": "spiralkit.cli.bench",
    "compile": "spiralkit.cli.compile",
    "compress": "spiralkit.cli.compress",
    "demo": "spiralkit.cli.demo",
    "info": "spiralkit.cli.info",
    "run": "spiralkit.cli.run",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spiralkit", description="spiral compression and sparse inference")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: "list[str] | None" = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from spiralkit.errors import UnsupportedError

    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, UnsupportedError) as exc:
        print(f"spiralkit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
