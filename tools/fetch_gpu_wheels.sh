#!/usr/bin/env bash
# Downloads into .whl/ (ignored by git) the wheels the lent GPU machine lacks for tools/gpu_bench.sh:
# Python 3.12, manylinux x86_64, no dependencies resolved (each one is named here). Run it here, with
# network, before a device call that carries ".whl". About 7 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
platforms=()
for tag in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
           manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$tag")
done
diffusers=$(grep -E '^diffusers==' requirements.txt | cut -d'#' -f1 | tr -d ' ')
for wheel in "$diffusers" greenlet==3.5.6 importlib_metadata==10.2.0 lazy_importer==0.1.0; do
    "$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        "${platforms[@]}" -d .whl "$wheel"
done
ls -l .whl
