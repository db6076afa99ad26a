"""`spiralkit info`: what was built, what this CPU has, which kernel each family runs."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("info", help="show build options, CPU features and chosen kernels")
    parser.add_argument("--json", action="store_true", help="print the raw dictionary as JSON")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    import spiralkit

    data = spiralkit.info()
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    print(format_info(data))
    return 0


def format_info(data: dict) -> str:
    build = data.get("build", {})
    lines = [
        f"spiralkit {data['version']}",
        f"  build      : {build.get('build_type')} with {build.get('compiler')}, OpenMP {'on' if build.get('openmp') else 'off'}, "
        f"native tuning {'on' if build.get('native') else 'off'}",
        f"  CUDA       : {'built' if data.get('cuda_built') else 'not built'}",
        f"  CPU ISA    : detected {data['isa_detected']}, active {data['isa_active']}"
        + (f" (SPIRALKIT_ISA={data['isa_forced']})" if data.get("isa_forced") else ""),
        f"  cores      : {data['physical_cores']} physical, {data['logical_cpus']} logical; threads {data['num_threads']}",
    ]
    if data.get("isa_note"):
        lines.append(f"  note       : {data['isa_note']}")
    lines.append("  kernels    :")
    width = max((len(f) for f in data.get("kernels", {})), default=0)
    for family, row in sorted(data.get("kernels", {}).items()):
        lines.append(f"    {family:<{width}}  {row['kernel']}  [{row['isa']}]")
    return "\n".join(lines)
