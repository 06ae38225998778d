#!/usr/bin/env bash
# The CUDA benchmark in one call, for a lent GPU machine (no network, no diffusers, no Qt there).
#
# What it does, in the repository root:
#   1. installs the wheels in .whl/ (diffusers, greenlet, importlib_metadata, lazy-importer; made
#      with `pip download ... --python-version 3.12 ... -d .whl`) into /tmp/cns-site and puts that
#      first on PYTHONPATH, unless the interpreter already has every one at the wheel's version;
#   2. writes $OUT/versions.txt (nvidia-smi, python, torch + CUDA, diffusers, transformers, ...);
#   3. runs `main.py bench --engine-only --diffusers-compiled` (no Qt figures), its output teed to
#      $OUT/bench_log.txt, the figures to $OUT/bench.json, stopped by `timeout` before the call's
#      limit so that what was written still comes back;
#   4. writes $OUT/table.md: the figures as a markdown table plus the versions, ready to paste into
#      docs/PERFORMANCE.md; and $OUT/studio_log.txt, the app's log (the trace behind an error).
# Exits with the bench's status: non-zero if it failed or timed out.
#
# First, here with network: `bash tools/fetch_gpu_wheels.sh` (.whl/ is ignored by git: a fresh checkout
# lacks it). On a lent GPU (the device tool): run with carry [".whl"], command `bash tools/gpu_bench.sh`,
# timeout_s 540. Defaults: --device cuda --model sd15-shape --size 512 --steps 20 --repeats 3.
#
# Usage: bash tools/gpu_bench.sh [--device D] [--model M] [--size N] [--steps N] [--repeats N]
#            [--precision P] [--threads N] [--no-compile] [--no-diffusers-compiled] [--no-wheels | --wheels]
#            [--budget SECONDS]
#   --no-compile    passed to the bench: our fast path runs uncompiled
#   --threads N     passed to the bench: torch CPU threads (1 is steadiest on a busy small CPU)
#   --no-diffusers-compiled  leave out diffusers' pipeline under torch.compile (a quick CPU dry run:
#                   compiling it on a CPU takes minutes)
#   --no-wheels     never install .whl/ (use the interpreter's own packages: a dev venv)
#   --wheels        always install .whl/ (even when the interpreter has the same versions)
#   --budget S      seconds from the script's start by which the bench must have ended (default 470)
# Environment: PYTHON (interpreter, default python3), OUT (output folder, default $OUT or a new
# temp folder).
#
# CPU dry run on a developer machine (tiny model; the venv's own diffusers and greenlet):
#   PYTHON=/work/venv/bin/python OUT=/tmp/gpu_dry bash tools/gpu_bench.sh \
#       --device cpu --model tiny --size 64 --steps 3 --repeats 1 --no-wheels
set -euo pipefail

caller=$PWD
cd "$(dirname "$0")/.."

device=cuda model=sd15-shape size=512 steps=20 repeats=3 precision="" threads="" budget=470
no_compile=0 diffusers_compiled=1 wheels=auto
while [ $# -gt 0 ]; do
    case "$1" in
        --device) device=$2; shift 2 ;;
        --model) model=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --steps) steps=$2; shift 2 ;;
        --repeats) repeats=$2; shift 2 ;;
        --precision) precision=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --budget) budget=$2; shift 2 ;;
        --no-compile) no_compile=1; shift ;;
        --no-diffusers-compiled) diffusers_compiled=0; shift ;;
        --no-wheels) wheels=no; shift ;;
        --wheels) wheels=yes; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu_bench: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

PYTHON=${PYTHON:-python3}
OUT=${OUT:-$(mktemp -d /tmp/cns-gpu-bench-out.XXXXXX)}
case "$OUT" in /*) ;; *) OUT=$caller/$OUT ;; esac  # a relative OUT is the caller's, not the repo's
mkdir -p "$OUT"
work=$(mktemp -d /tmp/cns-gpu-bench.XXXXXX)
echo "gpu_bench: results in $OUT (scratch: $work)"

# No network there: the hub libraries must not wait on one.
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} TRANSFORMERS_OFFLINE=${TRANSFORMERS_OFFLINE:-1}
export HF_HUB_DISABLE_TELEMETRY=1 PYTHONUNBUFFERED=1
# The app's log for this run alone (its path is printed with an internal error).
export XDG_STATE_HOME=$work/state

# 1. Wheels.
wheel_note="none in .whl/"
shopt -s nullglob
wheel_files=(.whl/*.whl)
shopt -u nullglob
if [ "$wheels" = no ]; then
    wheel_note="skipped (--no-wheels)"
elif [ ${#wheel_files[@]} -gt 0 ]; then
    if [ "$wheels" = auto ]; then
        # Skip when the interpreter already has every wheel's distribution at the wheel's version.
        if "$PYTHON" - "${wheel_files[@]}" <<'EOF'
import re, sys
from importlib import metadata

def canon(name):
    return re.sub(r"[-_.]+", "-", name).lower()

have = {canon(d.metadata["Name"] or ""): d.version for d in metadata.distributions()}
for path in sys.argv[1:]:
    name, version = path.rsplit("/", 1)[-1].split("-")[:2]
    if have.get(canon(name)) != version:
        sys.exit(1)
EOF
        then wheels=no; wheel_note="skipped: $PYTHON already has ${wheel_files[*]#.whl/} at those versions"
        else wheels=yes
        fi
    fi
    if [ "$wheels" = yes ]; then
        rm -rf /tmp/cns-site
        "$PYTHON" -m pip install -q --root-user-action=ignore --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/cns-site "${wheel_files[@]}"
        export PYTHONPATH=/tmp/cns-site${PYTHONPATH:+:$PYTHONPATH}
        wheel_note="installed into /tmp/cns-site: ${wheel_files[*]#.whl/}"
    fi
fi
echo "gpu_bench: wheels $wheel_note"

# 2. Versions (best effort: a missing piece is written as such, never stops the run).
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    if command -v nvidia-smi >/dev/null 2>&1; then
        echo "nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 4 | paste -sd ';' -)"
    else
        echo "nvidia-smi: not found"
    fi
    echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
    echo "wheels: $wheel_note"
    "$PYTHON" - <<'EOF' 2>&1 || echo "python: version probe failed"
import importlib.util
import platform
import sys
from importlib import metadata

print(f"python: {platform.python_version()} ({sys.executable})")
try:
    import torch

    cuda = torch.version.cuda or "none"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
    cudnn = torch.backends.cudnn.version() if torch.cuda.is_available() else None
    print(f"torch: {torch.__version__} (CUDA {cuda}{f', cuDNN {cudnn}' if cudnn else ''}; {gpu})")
except Exception as err:  # noqa: BLE001
    print(f"torch: not importable ({err})")
for name in ("diffusers", "transformers", "accelerate", "peft", "huggingface_hub", "safetensors", "greenlet",
             "numpy", "triton"):
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        print(f"{name}: not installed")
        continue
    spec = importlib.util.find_spec(name)
    where = f" ({spec.submodule_search_locations[0]})" if name == "diffusers" and spec and spec.submodule_search_locations else ""
    print(f"{name}: {version}{where}")
EOF
} >"$OUT/versions.txt"
cat "$OUT/versions.txt"

# 3. The bench.
bench=("$PYTHON" main.py bench --device "$device" --model "$model" --size "$size" --steps "$steps"
       --repeats "$repeats" --engine-only --workdir "$work/models" --json "$OUT/bench.json")
[ "$diffusers_compiled" = 1 ] && bench+=(--diffusers-compiled)
[ -n "$precision" ] && bench+=(--precision "$precision")
[ -n "$threads" ] && bench+=(--threads "$threads")
[ "$no_compile" = 1 ] && bench+=(--no-compile)
limit=$((budget - SECONDS - 10))
[ "$limit" -lt 30 ] && limit=30
shown="python3 main.py bench --device $device --model $model --size $size --steps $steps --repeats $repeats"
shown+=" --engine-only${precision:+ --precision $precision}${threads:+ --threads $threads}"
[ "$diffusers_compiled" = 1 ] && shown+=" --diffusers-compiled"
[ "$no_compile" = 1 ] && shown+=" --no-compile"
export BENCH_COMMAND="$shown --json bench.json"
echo "gpu_bench: ${bench[*]} (stopped after ${limit} s)"
set +e
timeout --kill-after=15 "$limit" "${bench[@]}" 2>&1 | tee "$OUT/bench_log.txt"
status=${PIPESTATUS[0]}
set -e
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
    echo "gpu_bench: TIMED OUT: the bench was stopped after ${limit} s (exit $status); bench_log.txt holds how far it got" \
        | tee -a "$OUT/bench_log.txt"
elif [ "$status" != 0 ]; then
    echo "gpu_bench: BENCH FAILED with exit $status (the trace: above, or in studio_log.txt)" | tee -a "$OUT/bench_log.txt"
fi
[ -s "$XDG_STATE_HOME/controlnet-studio/studio.log" ] && cp "$XDG_STATE_HOME/controlnet-studio/studio.log" "$OUT/studio_log.txt"

# 4. The markdown table.
BENCH_STATUS=$status BENCH_LIMIT=$limit "$PYTHON" - "$OUT" <<'EOF' || echo "gpu_bench: could not write table.md"
import json
import os
import sys
from pathlib import Path

out = Path(sys.argv[1])
versions = [line for line in (out / "versions.txt").read_text().splitlines() if line.strip()]
status = int(os.environ["BENCH_STATUS"])
lines = []
result = None
if (out / "bench.json").exists() and status == 0:
    result = json.loads((out / "bench.json").read_text())


def ratio(x):
    return f"{x:.3f}"


def ms(x):
    return f"{x:,.0f}" if x >= 1000 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def spread(values):
    if not values:
        return ""
    if len(values) == 1:
        return f"round {values[0]:.3f}"
    return f"rounds {min(values):.3f}-{max(values):.3f}"


def check(value, target):
    """'yes' / 'no' against a target such as '>= 2.0'."""
    op, bound = target.split()
    met = value >= float(bound) if op == ">=" else value <= float(bound)
    return "yes" if met else "**no**"


if result is None:
    what = ("timed out after " + os.environ["BENCH_LIMIT"] + " s") if status in (124, 137) else f"failed (exit {status})"
    lines += [f"**The bench {what}**: no figures; see bench_log.txt and studio_log.txt.", ""]
else:
    f = result["figures"]
    speed = f.get("speed_step_ms", {})
    c = f.get("conditions_1_2_3_ms", {})
    gpu = result["machine"].get("gpu")
    date = versions[0].split(": ", 1)[1][:10] if versions and versions[0].startswith("date:") else ""
    lines += [f"## {'CUDA' if gpu else 'CPU'} results ({date}, {gpu or result['machine'].get('cpu', '')})", "",
              f"{result['model']}, {result['size']} x {result['size']}, {result['steps']} steps, "
              f"{result['repeats']} rounds; fast side {result['device']}, plain side {result['plain_device']}; "
              f"compile {'on' if result.get('compile') else 'off'}; models loaded in {result.get('load_seconds', 0):.1f} s.",
              "", "```", os.environ.get("BENCH_COMMAND", ""), "```", "",
              "| figure | value | note | target | met |", "|---|---|---|---|---|"]
    rows = []

    def row(name, value, note, target="", met=None):
        rows.append(f"| {name} | {value} | {note} | {target} | {met or ''} |")

    compiled = "compiled" if f.get("fast_compiled") else "not compiled: " + ("; ".join(f.get("fast_notices") or []) or "off or small model")
    if "fast_vs_diffusers" in f:
        row("fast_vs_diffusers", f"{ratio(f['fast_vs_diffusers'])} x",
            f"diffusers {ms(speed['diffusers'])} ms ({result['plain_device']}) / fast {ms(speed['fast'])} ms per step "
            f"({compiled}); {spread(f.get('fast_vs_diffusers_rounds'))}", ">= 2.0", check(f["fast_vs_diffusers"], ">= 2.0"))
    if "fast_vs_diffusers_same_precision" in f:
        row("fast_vs_diffusers_same_precision", f"{ratio(f['fast_vs_diffusers_same_precision'])} x",
            f"diffusers {ms(speed['diffusers_same_precision'])} ms in our precision and layout, eager; "
            f"{spread(f.get('fast_vs_diffusers_same_precision_rounds'))}", ">= 1.15",
            check(f["fast_vs_diffusers_same_precision"], ">= 1.15"))
    if "diffusers_compiled" in speed:
        row("fast_vs_diffusers_compiled", f"{ratio(speed['diffusers_compiled'] / speed['fast'])} x",
            f"diffusers' pipeline, UNet and ControlNet under torch.compile: {ms(speed['diffusers_compiled'])} ms per step "
            "(ratio of the step medians, same lockstep rounds)")
    if "compile_seconds" in f:
        cs, first = f["compile_seconds"], f["first_image_seconds"]
        row("compile_seconds", f"cold {cs['cold']:.1f}, from disk {cs['from_disk_cache']:.1f}",
            f"first image (2 steps): cold {first['cold']:.1f} s, from disk cache {first['from_disk_cache']:.1f} s, "
            f"warm {first['warm']:.2f} s")
    if "loop_vs_diffusers" in f:
        row("loop_vs_diffusers", ratio(f["loop_vs_diffusers"]),
            f"time ratio, both plain: ours {ms(f['ours_step_ms'])} ms / diffusers {ms(f['diffusers_step_ms'])} ms per step; "
            f"{spread(f.get('loop_vs_diffusers_rounds'))}", "<= 1.02", check(f["loop_vs_diffusers"], "<= 1.02"))
    if "preview_overhead" in f:
        row("preview_overhead", ratio(f["preview_overhead"]),
            f"fast path, preview every step / none; the previewer itself {f['preview_cost_ms']:.2f} ms = "
            f"{f['preview_cost_share']:.2%} of a step; {spread(f.get('preview_overhead_rounds'))}", "<= 1.03",
            check(f["preview_overhead"], "<= 1.03"))
    if c:
        row("conditions 1 / 2 / 3", f"{ms(c['1'])} / {ms(c['2'])} / {ms(c['3'])} ms",
            "fast path, per step with 1, 2, 3 active ControlNets")
    if "three_vs_one" in f:
        row("three_vs_one", ratio(f["three_vs_one"]), "3 active conditions / 1, per step", "<= 1.6",
            check(f["three_vs_one"], "<= 1.6"))
    if "inactive_vs_1" in f:
        row("inactive_vs_1", ratio(f["inactive_vs_1"]),
            f"3 with 2 inactive (weight 0, outside start/end): {ms(c['3_with_2_inactive'])} ms per step; "
            f"{spread(f.get('inactive_vs_1_rounds'))}", "<= 1.03", check(f["inactive_vs_1"], "<= 1.03"))
    if "first_preview_ms" in f:
        row("first_preview_ms", f"{f['first_preview_ms']:.0f}", "request to first preview, warm worker", "~ one step")
    if "ui_stall_ms" in f:
        row("ui_stall_ms", f"max {f['ui_stall_ms']['max']:.1f}, p99 {f['ui_stall_ms']['p99']:.1f}",
            "10 ms UI timer gaps while generating", "max < 50")
    if "peak_memory_mb" in f:
        where = "device peak (torch.cuda.max_memory_allocated)" if gpu else "process peak (ru_maxrss)"
        row("peak_memory_mb", f"{f['peak_memory_mb']:,.0f}", where)
    row("fast path", "compiled" if f.get("fast_compiled") else "not compiled",
        "; ".join(f.get("fast_notices") or []) or "no notices")
    lines += rows
    lines.append("")
lines += ["Versions:", ""] + [f"- {line}" for line in versions]
(out / "table.md").write_text("\n".join(lines) + "\n")
EOF
if [ -f "$OUT/table.md" ]; then
    echo "gpu_bench: $OUT/table.md"
    cat "$OUT/table.md"
fi
rm -rf "$work"
exit "$status"
