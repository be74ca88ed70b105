#!/usr/bin/env bash
# A non-editable install in a fresh virtual environment, then `zcpt demo` from an empty folder
# outside the checkout: the record must land under that folder, nothing inside the installed package.
#   bash benchmarks/fresh_install_demo.sh [WORKDIR]     (needs ../shared/data beside the checkout)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-$(mktemp -d)}"
DATA="$(cd "$ROOT/../shared/data" && pwd)"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --upgrade pip
"$WORK/venv/bin/python" -m pip install -q torch==2.14.1 torchvision==0.29.1
"$WORK/venv/bin/python" -m pip install -q "$ROOT"          # not -e: a normal install into site-packages
SITE="$("$WORK/venv/bin/python" -c 'import zcpt_analysis, pathlib; print(pathlib.Path(zcpt_analysis.__file__).parent)')"
echo "installed package: $SITE"
mkdir -p "$WORK/empty" && cd "$WORK/empty"
find "$SITE" -type f -not -path '*__pycache__*' | sort > "$WORK/before.txt"
time ZCPT_DATA="$DATA" "$WORK/venv/bin/zcpt" --threads 2 demo --device cpu
find "$SITE" -type f -not -path '*__pycache__*' | sort > "$WORK/after.txt"
ls -l "$WORK/empty/runs/demo"
cmp -s "$WORK/before.txt" "$WORK/after.txt" && echo "nothing was written into the installed package"
