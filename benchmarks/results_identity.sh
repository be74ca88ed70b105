#!/usr/bin/env bash
# Compute a small fixed set of runs through the `zcpt` command line and print every record (and the
# trained supernet's run.json) with the fields that vary between two runs of the same code
# (timings, dates, versions) removed, so that two versions of the package can be compared record
# for record on one machine:
#
#   bash benchmarks/results_identity.sh OUT_DIR > before.json   # on one commit
#   bash benchmarks/results_identity.sh OUT_DIR2 > after.json   # on another
#   diff before.json after.json                                  # empty: identical results
#
# The runs: a Zero-Cost-PT search on NAS-Bench-201, a NASWOT run, an operation-score table
# (zc-pt and darts-pt on a tiny supernet) and a Zero-Cost-PT search on the DARTS space, each on
# tiny networks with the shared CIFAR-10 sample (about a minute on 2 cores).
set -euo pipefail
out=${1:?usage: results_identity.sh OUT_DIR}
zcpt="${ZCPT:-zcpt}"
q=(--quiet)
$zcpt --threads 1 search --space nb201 --proxy nwot --order random -N 2 -V 2 --batch-size 16 \
    --supernet-option C=4 --supernet-option N=1 --seed 3 --out "$out" "${q[@]}" >/dev/null
$zcpt --threads 1 search --space nb201 --proxy synflow --order global-op-iter -N 1 -V 2 --batch-size 8 \
    --supernet-option C=4 --supernet-option N=1 --seed 1 --out "$out" "${q[@]}" >/dev/null
$zcpt --threads 1 baseline naswot --n-samples 20 --batch-size 16 --network-option C=4 --network-option N=1 \
    --seed 2 --out "$out" "${q[@]}" >/dev/null
$zcpt --threads 1 scores --methods zc-pt disc-zc darts darts-pt --supernet-option C=4 --supernet-option N=1 \
    --proxy-batch-size 16 --epochs 1 --batch-size 16 --steps-per-epoch 2 --eval-max-images 32 \
    --out "$out" "${q[@]}" >/dev/null
$zcpt --threads 1 search --space darts --proxy nwot --order fixed -N 1 -V 1 --batch-size 8 \
    --supernet-option C=4 --supernet-option layers=3 --network-option C=4 --network-option layers=3 \
    --seed 0 --out "$out" "${q[@]}" >/dev/null
python - "$out" <<'PY'
import json, pathlib, sys
VARYING = {"timing", "created", "environment", "seconds", "since"}
def strip(obj):
    if isinstance(obj, dict):
        return {k: strip(v) for k, v in sorted(obj.items()) if k not in VARYING and not k.endswith("seconds")}
    if isinstance(obj, list):
        return [strip(v) for v in obj]
    return obj
root = pathlib.Path(sys.argv[1])
records = {str(p.relative_to(root)): strip(json.loads(p.read_text()))
           for p in sorted(root.rglob("*.json")) if not p.name.startswith("naswot-scores-")}
print(json.dumps(records, indent=1, sort_keys=True))
PY
