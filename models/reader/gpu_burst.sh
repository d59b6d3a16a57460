#!/usr/bin/env bash
# Render fresh reader samples on every CPU core and train several readers on one GPU beside the
# renderer, all inside one short lease of a GPU machine (16 cores, one H200 here).
#
#   FONT_DIR=/path/to/fonts bash models/reader/gpu_burst.sh OUT_DIR [MINUTES]
#
# Each trainer's schedule runs MINUTES of wall-clock time once 12 shards exist; they share the
# growing pool of one render seed, so their figures compare. What comes back to OUT_DIR: each
# run's weights (weights_NAME.pt: the checkpoint less its optimizer, for models.reader.export)
# and logs.tgz (render and training logs). Trainers are named in TRAINERS as
# "name:width:lr:warmup:extra options"; an `init` option starts from the shipped FP32 reader.
#
# The lent machine has PyTorch but neither our fonts nor pydantic, and reaches no registry. The
# session-11 call carried the Debian font files (under .carry/fonts/usr/share/fonts/...), the GOST
# font and cp312 wheels of pydantic, pydantic-core, annotated-types, typing-inspection and
# typing-extensions (.whl/), then ran:
#   cp -r .carry/fonts/usr / && mkdir -p /tmp/fonts && cp .carry/RoadNumbers2.0.ttf /tmp/fonts/ &&
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl &&
#   export PYTHONPATH=/tmp/site:$PWD && FONT_DIR=/tmp/fonts bash models/reader/gpu_burst.sh $OUT 6.5
set -uo pipefail
OUT_DIR=${1:?usage: gpu_burst.sh OUT_DIR [MINUTES]}
MINUTES=${2:-7}
FONT_DIR=${FONT_DIR:-../shared/fonts}
CACHE=${CACHE:-/tmp/reader-burst-cache}
SEED=${SEED:-61}
RENDER_WORKERS=${RENDER_WORKERS:-12}
SHARD_SIZE=${SHARD_SIZE:-1000}
MIN_SHARDS=${MIN_SHARDS:-12}
BATCH=${BATCH:-256}
EVAL_EVERY=${EVAL_EVERY:-2000}
TEST_COUNT=${TEST_COUNT:-2000}
TRAINERS=${TRAINERS:-"ft1:1:4e-4:300:init w15:1.5:3e-3:500: w2:2:3e-3:500:"}
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT_DIR/logs" "$CACHE"

# Fail in seconds, not after the lease is spent, when an import or a font is missing.
python3 -c "
import torch, models.synth.ocr_samples, models.reader.train
from models.synth.fonts import FontSet
fonts = FontSet.discover('$FONT_DIR')
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'sans fonts', len(fonts.sans))
" || exit 3
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv

python3 -m models.reader.cache --out "$CACHE" --seed 2 --count "$TEST_COUNT" --shard-size "$TEST_COUNT" \
    --font-dir "$FONT_DIR" >"$OUT_DIR/logs/render_test.log" 2>&1 &
test_pid=$!
python3 -m models.reader.cache --out "$CACHE" --seed "$SEED" --count 2000000 --shard-size "$SHARD_SIZE" \
    --workers "$RENDER_WORKERS" --font-dir "$FONT_DIR" >"$OUT_DIR/logs/render.log" 2>&1 &
render_pid=$!
wait "$test_pid" || { echo "test-set render failed"; tail "$OUT_DIR/logs/render_test.log"; exit 4; }

pids=()
for spec in $TRAINERS; do
  IFS=: read -r name width lr warmup extra <<<"$spec"
  opts=(--out "$OUT_DIR/runs/$name" --cache "$CACHE" --data-seed "$SEED" --font-dir "$FONT_DIR"
        --test-count "$TEST_COUNT" --wait-for-shards --min-shards "$MIN_SHARDS" --batch "$BATCH"
        --width "$width" --lr "$lr" --warmup "$warmup" --minutes "$MINUTES" --steps 10000000
        --eval-every "$EVAL_EVERY" --ckpt-every "$EVAL_EVERY" --refresh-every 100 --augment --no-progress)
  [ "$extra" = init ] && opts+=(--init-from edge/inference/weights/reader_fp32.onnx)
  timeout $(( ${MINUTES%.*} * 60 + 240 )) python3 -m models.train ocr "${opts[@]}" \
      >"$OUT_DIR/logs/train_$name.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
kill "$render_pid" 2>/dev/null
wait "$render_pid" 2>/dev/null

for spec in $TRAINERS; do
  name=${spec%%:*}
  python3 -c "
import sys, torch
state = torch.load(sys.argv[1], map_location='cpu', weights_only=False)
state.pop('optimizer', None)
torch.save(state, sys.argv[2])
print(sys.argv[2], 'step', state['step'])
" "$OUT_DIR/runs/$name/last.pt" "$OUT_DIR/weights_$name.pt" || echo "no weights for $name"
  tail -n 2 "$OUT_DIR/logs/train_$name.log"
done
echo "rendered: $(ls "$CACHE" | grep -c "^seed${SEED}_.*[0-9].npz$") shards of $SHARD_SIZE"
tar czf "$OUT_DIR/logs.tgz" -C "$OUT_DIR" logs $(cd "$OUT_DIR" && ls runs/*/log.jsonl 2>/dev/null)
rm -rf "$OUT_DIR/runs" "$OUT_DIR/logs"
