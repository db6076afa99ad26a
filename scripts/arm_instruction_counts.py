#!/usr/bin/env python3
"""Speed evidence for the NEON kernels without ARM hardware: exact executed-instruction counts and
llvm-mca cycle estimates, dense NEON kernel vs sparse NEON 4x1 kernel at 90 % sparsity.

(a) Instructions: each kernel call runs once between two marker functions in a static aarch64
    driver (scripts/arm_insn_driver.cc) under qemu-aarch64 with a TCG plugin
    (scripts/qemu_insn_window.c) that adds 1 per executed guest instruction (inline, exact) and
    snapshots the counter at the markers; the empty window's count is subtracted.
(b) Cycles: the same plugin reports the hottest translation blocks inside the kernel's object file
    (the inner loops). Each is disassembled and given to llvm-mca (-mcpu=cortex-a72 / cortex-a76);
    the kernel estimate is sum(executions x llvm-mca cycles per iteration) over those blocks plus
    the remaining instructions at the hottest block's cycles per instruction (coverage reported).
    The FMA-throughput bound of a loop is its fmla count x llvm-mca's cycles per fmla, measured by
    llvm-mca on 24 independent q-register fmla (the model's own throughput).

Usage: python scripts/arm_instruction_counts.py [--build build/ci-aarch64] [--out benchmarks/results]
Needs: a cross build of spiralkit_core and spiralkit_kernels (cmake with
cmake/toolchains/aarch64-linux-gnu.cmake), aarch64-linux-gnu-g++, qemu-aarch64 (7.x, plugins on),
gcc, llvm-mca. Never time anything under qemu: only these counts mean something there.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPUS = ("cortex-a72", "cortex-a76")
DENSITY = 0.1  # 90 % of the 4x1 blocks are zero

# (label, N out, K in, M rows/pixels)
BERT = [("BERT 768->768", 768, 768), ("BERT 768->3072", 3072, 768), ("BERT 3072->768", 768, 3072)]
MOBILENET = [("MobileNet-v2 96->576 @28x28", 576, 96, 784), ("MobileNet-v2 160->960 @7x7", 960, 160, 49),
             ("MobileNet-v2 32->192 @56x56", 192, 32, 3136)]
SPMM_DENSE = "spiralkit_f32_spmm_ukernel_8x1__neon"  # what the dense fallback runs for many rows
SPMM_4X1 = "spiralkit_f32_spmm_ukernel_4x1__neon"
GEMV_DENSE = "spiralkit_f32_gemv_ukernel__neon"
SPMV_4X1 = "spiralkit_f32_spmv_ukernel_4x1__neon"
GEMM_DENSE = "spiralkit_f32_gemm_ukernel_4x4v__neon"
KERNEL_FILE = {
    SPMM_DENSE: "f32-spmm-8x1-neon.cc.o", SPMM_4X1: "f32-spmm-4x1-neon.cc.o", GEMV_DENSE: "f32-gemv-neon.cc.o",
    SPMV_4X1: "f32-spmv-4x1-neon.cc.o", GEMM_DENSE: "f32-gemm-neon.cc.o",
}


def run(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def build_tools(build: Path, tmp: Path) -> tuple[Path, Path, Path]:
    plugin = tmp / "libqemu_insn_window.so"
    run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(plugin), str(ROOT / "scripts/qemu_insn_window.c")])
    driver, mapfile = tmp / "arm_insn_driver", tmp / "arm_insn_driver.map"
    run(["aarch64-linux-gnu-g++", "-O2", "-std=c++17", "-static", "-fopenmp", f"-I{ROOT / 'src'}",
         f"-I{ROOT / 'kernels/include'}", f"-I{ROOT / 'kernels'}", "-DSPIRALKIT_ARCH_arm64=1",
         str(ROOT / "scripts/arm_insn_driver.cc"), "-o", str(driver), f"-Wl,-Map={mapfile}", "-Wl,--start-group",
         str(build / "libspiralkit_core.a"), str(build / "libspiralkit_kernels.a"), "-Wl,--end-group"])
    return plugin, driver, mapfile


def text_range(mapfile: Path, obj: str) -> tuple[int, int]:
    for line in mapfile.read_text().splitlines():
        m = re.match(r"\s*\.text\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+.*\(" + re.escape(obj) + r"\)", line)
        if m:
            lo = int(m.group(1), 16)
            return lo, lo + int(m.group(2), 16)
    raise SystemExit(f"{obj}: no .text in the link map")


def symbol(driver: Path, name: str) -> int:
    for line in run(["aarch64-linux-gnu-nm", str(driver)]).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise SystemExit(f"{name}: not in {driver}")


class Counter:
    def __init__(self, plugin: Path, driver: Path, mapfile: Path):
        self.plugin, self.driver, self.mapfile = plugin, driver, mapfile
        self.begin, self.end = symbol(driver, "marker_begin"), symbol(driver, "marker_end")
        self.empty = self._window("none", 1, 1, 1, 1.0, (0, 0))[0]

    def _window(self, kernel: str, n: int, k: int, m: int, density: float, rng: tuple[int, int]):
        arg = f"{self.plugin},begin={self.begin:#x},end={self.end:#x},lo={rng[0]:#x},hi={rng[1]:#x}"
        out = subprocess.run(["qemu-aarch64", "-cpu", "cortex-a76", "-plugin", arg, "-d", "plugin", str(self.driver),
                              kernel, str(n), str(k), str(m), str(density)], check=True, capture_output=True,
                             text=True)
        log = out.stdout + out.stderr
        window = int(re.search(r"insn_window (\d+) begins 1 ends 1", log).group(1))
        blocks = [(int(pc, 16), int(ni), int(ex)) for pc, ni, ex in
                  re.findall(r"hot_block pc (0x[0-9a-f]+) insns (\d+) execs (\d+)", log)]
        return window, blocks

    def count(self, kernel: str, n: int, k: int, m: int, density: float):
        window, blocks = self._window(kernel, n, k, m, density, text_range(self.mapfile, KERNEL_FILE[kernel]))
        return window - self.empty, blocks


def block_asm(driver: Path, pc: int, n_insns: int) -> tuple[str, bool]:
    """The block as llvm-mca input; True when its last instruction branches back to its start."""
    out = run(["aarch64-linux-gnu-objdump", "-d", "--no-show-raw-insn", f"--start-address={pc:#x}",
               f"--stop-address={pc + 4 * n_insns:#x}", str(driver)])
    lines, loops = [], False
    for line in out.splitlines():
        m = re.match(r"\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if not m:
            continue
        op, args = m.group(2), m.group(3).split("//")[0].strip()
        target = re.match(r"(.*?)([0-9a-f]+) <[^>]*>$", args)
        if target:  # branch: to the block's own start is the loop, anything else stays a label
            loops = loops or int(target.group(2), 16) == pc
            args = target.group(1) + ("loop_start" if int(target.group(2), 16) == pc else "elsewhere")
        lines.append(f"{op} {args}".strip())
    return "loop_start:\n" + "\n".join(lines) + "\nelsewhere:\n", loops


def mca_cycles(asm: str, cpu: str, iterations: int = 500) -> float | None:
    """llvm-mca's cycles per iteration of `asm`, or None when llvm-mca cannot read the block."""
    out = subprocess.run(["llvm-mca", "-mtriple=aarch64", f"-mcpu={cpu}", f"-iterations={iterations}"], input=asm,
                         capture_output=True, text=True)
    m = re.search(r"Total Cycles:\s+(\d+)", out.stdout)
    return int(m.group(1)) / iterations if out.returncode == 0 and m else None


def fma_cycles(cpu: str) -> float:
    """llvm-mca's cycles per independent q-register fmla on `cpu` (its FMA throughput)."""
    asm = "\n".join(f"fmla v{i}.4s, v30.4s, v31.4s" for i in range(24)) + "\n"
    return mca_cycles(asm, cpu, 200) / 24


def estimate(driver: Path, insns: int, blocks, fma: dict[str, float]) -> dict:
    covered = sum(n * e for _, n, e in blocks)
    hot = blocks[0]
    asm, loops = block_asm(driver, hot[0], hot[1])
    fmla = sum(1 for line in asm.splitlines() if line.startswith("fmla"))
    res = {"hot_loop_insns": hot[1], "hot_loop_fmla": fmla, "hot_loop_is_loop": loops,
           "hot_loop_execs": hot[2], "coverage": covered / insns if insns else 0.0, "cycles": {}, "loop_cycles": {},
           "loop_fma_bound": {}}
    for cpu in CPUS:
        per_block = [mca_cycles(block_asm(driver, pc, n)[0], cpu) for pc, n, _ in blocks]
        cpi = per_block[0] / hot[1]  # the rest (and any block llvm-mca cannot read) at the hot loop's rate
        est = sum((c if c is not None else n * cpi) * e for c, (_, n, e) in zip(per_block, blocks))
        est += (insns - covered) * cpi
        res["cycles"][cpu] = est
        res["loop_cycles"][cpu] = per_block[0]
        res["loop_fma_bound"][cpu] = fmla * fma[cpu]
    res["hot_loop_asm"] = asm
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/ci-aarch64", help="aarch64 cross build directory")
    ap.add_argument("--out", default="benchmarks/results", help="where arm-neon-instructions.{md,json} go")
    args = ap.parse_args()
    for tool in ("qemu-aarch64", "aarch64-linux-gnu-g++", "gcc", "llvm-mca", "aarch64-linux-gnu-objdump"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool}: not found")
    build = (ROOT / args.build).resolve()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        plugin, driver, mapfile = build_tools(build, tmp)
        counter = Counter(plugin, driver, mapfile)
        fma = {cpu: fma_cycles(cpu) for cpu in CPUS}
        cases = [(f"{label}, 1 row", n, k, 1, GEMV_DENSE, SPMV_4X1) for label, n, k in BERT]
        cases += [(f"{label}, 128 rows", n, k, 128, SPMM_DENSE, SPMM_4X1) for label, n, k in BERT]
        cases += [(label, n, k, m, SPMM_DENSE, SPMM_4X1) for label, n, k, m in MOBILENET]
        rows = []
        for label, n, k, m, dense_k, sparse_k in cases:
            d_insns, d_blocks = counter.count(dense_k, n, k, m, 1.0)
            s_insns, s_blocks = counter.count(sparse_k, n, k, m, DENSITY)
            d, s = estimate(driver, d_insns, d_blocks, fma), estimate(driver, s_insns, s_blocks, fma)
            rows.append({"shape": label, "n": n, "k": k, "m": m, "dense_kernel": dense_k, "sparse_kernel": sparse_k,
                         "dense_insns": d_insns, "sparse_insns": s_insns, "insn_ratio": d_insns / s_insns,
                         "dense": d, "sparse": s,
                         "cycle_ratio": {cpu: d["cycles"][cpu] / s["cycles"][cpu] for cpu in CPUS}})
            print(f"{label:38s} insns {d_insns:>11,} / {s_insns:>10,} = {d_insns / s_insns:5.2f}x   cycles "
                  + "  ".join(f"{cpu[-3:]} {rows[-1]['cycle_ratio'][cpu]:5.2f}x" for cpu in CPUS), flush=True)
        # The dense GEMM inner loop (attention products), against its FMA bound.
        g_insns, g_blocks = counter.count(GEMM_DENSE, 128, 768, 128, 1.0)
        gemm = estimate(driver, g_insns, g_blocks, fma)
    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    commit = run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).strip()
    result = {"commit": commit, "density": DENSITY, "fma_cycles_per_fmla": fma, "rows": rows,
              "gemm_128x768x128": gemm, "method": __doc__}
    (out / "arm-neon-instructions.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "arm-neon-instructions.md").write_text(markdown(result))
    print(f"wrote {out / 'arm-neon-instructions.md'} and .json")
    return 0


def markdown(r: dict) -> str:
    a72, a76 = CPUS
    lines = [
        "# NEON kernels: executed instructions and llvm-mca cycles, dense vs 4x1 at 90 % sparsity",
        "",
        f"Made by `python scripts/arm_instruction_counts.py --build <aarch64 cross build>` at {r['commit']}.",
        "Instructions: exact guest-instruction counts of one kernel call under qemu-aarch64 (TCG plugin",
        "`scripts/qemu_insn_window.c`, inline count between two marker calls). Cycles: llvm-mca (LLVM 14) per",
        "hot translation block x its executions (see the script's docstring). Timings under qemu mean nothing",
        "and none are taken. Dense = the kernel spiralkit runs on the dense weight: f32-gemv for 1 row, f32-spmm",
        "8x1 over full panels (the dense fallback) for many rows; sparse = f32-spmv / f32-spmm 4x1 NEON rows.",
        "",
        "| shape | rows/pixels | dense insns | 4x1 insns | insn ratio | est. cycles ratio A72 | A76 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in r["rows"]:
        lines.append(f"| {row['shape']} | {row['m']} | {row['dense_insns']:,} | {row['sparse_insns']:,} | "
                     f"{row['insn_ratio']:.2f}x | {row['cycle_ratio'][a72]:.2f}x | {row['cycle_ratio'][a76]:.2f}x |")
    lines += ["", "## Inner loops against the FMA-throughput bound", "",
              f"llvm-mca's throughput of independent q-register fmla: A72 {r['fma_cycles_per_fmla'][a72]:.2f} "
              f"cycles/fmla, A76 {r['fma_cycles_per_fmla'][a76]:.2f} cycles/fmla. A loop's bound = its fmla x that.",
              "", "| kernel (shape) | loop insns | fmla | A72 cycles/iter | A72 bound | A72 ratio | "
              "A76 cycles/iter | A76 bound | A76 ratio |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    loops = [(f"dense GEMV ({row['shape']})", row["dense"]) for row in r["rows"] if row["m"] == 1][:1]
    loops += [(f"dense spmm 8x1 ({row['shape']})", row["dense"]) for row in r["rows"] if row["m"] == 128][:1]
    loops += [("dense GEMM 4x4v (128x768 by 768x128)", r["gemm_128x768x128"])]
    loops += [(f"sparse spmv 4x1 ({row['shape']})", row["sparse"]) for row in r["rows"] if row["m"] == 1][:1]
    loops += [(f"sparse spmm 4x1 ({row['shape']})", row["sparse"]) for row in r["rows"] if row["m"] == 128][:1]
    for name, e in loops:
        cells = []
        for cpu in CPUS:
            c, b = e["loop_cycles"][cpu], e["loop_fma_bound"][cpu]
            cells += [f"{c:.2f}", f"{b:.2f}", f"{c / b:.2f}x" if b else "-"]
        lines.append(f"| {name} | {e['hot_loop_insns']} | {e['hot_loop_fmla']} | " + " | ".join(cells) + " |")
    lines += ["", "## Reading it", "",
              "- llvm-mca 14 (and 16, checked) schedules `-mcpu=cortex-a76` with its Cortex-A57 model, the one it uses",
              "  for `cortex-a72` (3-wide, one 128-bit load and one q-register FMA per cycle), so the A76 columns repeat",
              "  A72. A real A76 has two load pipes and two q-FMA pipes: expect the dense loops nearer their bound there.",
              "- 1 row (GEMV): each 4x1 block costs an index, an x and a value load besides its FMA, where the dense",
              "  GEMV streams weights at one load per FMA, so the sparse kernel executes more instructions per useful",
              "  multiply-add; the memory-bound figure on a board is bytes (4x1 with 16-bit indices: 8.9x fewer at 90 %),",
              "  which an instruction count does not see.",
              "- The dense GEMV loop (4 rows x 2 vectors, 8 fmla) needs 10 q-register loads per iteration; at one load",
              "  per cycle its load bound is 1.25x the FMA bound, and GCC's register-offset loads are two micro-ops each",
              "  on the model (3-wide dispatch), which is where 13.0 cycles against 8.0 comes from.",
              "- Narrow K (MobileNet 32->192: ~3 blocks per 4-row panel at 90 %) leaves the output stores and",
              "  accumulator set-up, which sparsity does not remove, as a large share of the sparse kernel's work.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
