#!/usr/bin/env bash
# soak.sh: "make soak": install what is missing, build and install the
# extension, then bench/soak.py (ten minutes of the load mix, memory
# sampled every 10 s, bench/results/soak.md and soak.png).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
source bench/lib.sh
bench_install
exec /usr/bin/python3 bench/soak.py
