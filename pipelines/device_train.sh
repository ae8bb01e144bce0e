#!/usr/bin/env bash
# One GPU lease (the `device` tool), the DnCNNs at once (or the MODELs named, see below): trains each on the one
# GPU for MINUTES, continuing from its shipped weights (deblur-ms from its training state), and sends the weights and
# cards back as one tar per model, plus logs. The models share the GPU, so naming fewer gives each more steps. The
# learning rates anneal by time (ResumableRun.progress), so any MINUTES gives usable weights. COLOR_DATA, if set, is
# the photo folder of dncnn-color (the others train on PHOTO_FOLDER).
#
#   here:    python -m pipelines.pack_photos --out cache/photos-512q95 --long-side 512 --quality 95   (10.4 MiB)
#            python -m pipelines.pack_photos --out cache/photos-256 --long-side 256                   (10.2 MiB)
#            pack_photos says whether the checkout and a pack fit in the GPU machine's 64 MiB. On 2026-12-05 the
#            checkout took 42.9 MiB (52.3 before kpn-burst and lowlight-raw were stored in float16), so both packs
#            fit together: 63.5 MiB. A DnCNN training state kept in weights/checkpoints/ for a CPU leg (7.7 MiB,
#            weights/README.md) leaves room for one pack only: move it into cache/ before the call (it stays here).
#            Lossy WebP keeps the colors at half resolution: its photos are 46.5 dB from the downscaled ones in gray
#            on average but 40.8 in color, and on 2026-12-05 the lossy pack raised dncnn-color on CBSD68 and Kodak24
#            but cost it 0.17-0.21 dB at sigma 15 on McMaster and the held-out photos, where lossless packs had raised
#            it most (weights/TRAINING.md): dncnn-color trains on the lossless 256 px pack.
#   device:  run(command="RESTORE_COMMIT=<HEAD here> COLOR_DATA=cache/photos-256 bash pipelines/device_train.sh 7
#                cache/photos-512q95 dncnn-gray-15 dncnn-gray-25 dncnn-gray-50 dncnn-gray dncnn-color",
#                carry=["cache/photos-512q95", "cache/photos-256"], timeout_s=600)
#            then, with the minutes left, e.g. `bash pipelines/device_train.sh 3.5 cache/photos-512q95 kpn-burst`.
#            On 2026-12-05 an H100 took about 40 s to start, four DnCNNs for 7.5 minutes ran 465 s (31-39 steps a
#            second each) and three for 3.5 minutes 227 s (49 each): the two calls used 780 s of a 900 s lease.
#            RESTORE_COMMIT: `git rev-parse --short HEAD` run here, written into the command; the device gets the
#            working tree but the .git of the session's start, so its own git names a stale commit in the cards.
#   here:    for t in <files_at>/*.tar; do tar -xf "$t" -C cache/staging; done
#            A leg ships if it raises the validation PSNR at every level (noise level, gain or kind of shake) on the
#            photos held out (weights/TRAINING.md), measured for the shipped and the new weights alike with the
#            options of the leg's command: e.g. `python -m pipelines.train_dncnn NAME --init weights/NAME.safetensors
#            --steps 0 --weights-dir /tmp/x --state /tmp/x/new.safetensors`, then the same with --init
#            cache/staging/NAME.safetensors (for kpn-burst add `--prealign --max-shift 1 --anneal 0.9 --downsample
#            2`). Benchmarks come after, with the shipped weights.
#
# The burst models train on crops cut from photos scaled to 512 px (`--downsample 2`, raw 1: a frame pixel covers what
# it covers at the default 1024 px and 4x, with half-pixel instead of quarter-pixel shift steps), 2560 crops of 160 px
# from the 512 px pack as from the full-size photos; the shipped kpn-burst validated at 36.503 dB so against 36.501 the
# default way (under the validation before 2026-12-07: one burst per crop). The legs of 2026-12-04 trained them on
# smaller photos at the default step (frames of a scale they never saw: the 512 px pack at the default step validates at
# 34.843), and 8.5 minutes of it lowered 12 and 14 of the 15 benchmark rows of kpn-burst and kpn-burst-raw, by up to
# 0.33 dB; none was shipped (those legs, from --init, also restarted the per-frame loss terms at full weight, which cost
# the shipped kpn-burst 1.1-2.0 dB of validation in 80 steps; since 2026-12-07 they anneal on from the weights' steps).
# deblur-ms trains on photos of 720 px and 0.6 of that: from the 512 px pack its crops are 0.71 of their usual scale
# (12819 steps on the 288 px pack on 2026-12-04 moved its six means by -0.25 to +0.22 dB, not shipped); a 720 px pack
# (`pack_photos --out cache/photos-720q90 --long-side 720 --quality 90`: 13.2 MiB, 56.1 with the checkout, carried
# without the others) holds them at their scale. lowlight-raw (only when named) starts from its shipped weights, as its
# training state (23 MB) does not travel; it cuts its patches from photos of 720 px and 0.6 of that, as deblur-ms does,
# so the 720 px pack holds them at their scale too. The CUDA tests (tests/test_gpu.py) run beside the training; their
# result is in logs.tar. DEVICE=cpu and a fraction of a minute make a dry run here (tests/test_device_train.py). That
# machine has no kornia, rawpy or bm3d and no room to carry them; the trainings here need none of them
# (tests/test_imports.py). Only the invisp training needs rawpy, so it is not among the models here. The exit status is
# 1 if a training failed.
set -uo pipefail
shopt -s nullglob  # no card back (a failed run): no tar for it
usage="usage: device_train.sh MINUTES PHOTO_FOLDER [MODEL...]"
minutes=${1:?$usage}
data=${2:?$usage}
shift 2
models=(dncnn-gray-15 dncnn-gray-25 dncnn-gray-50 dncnn-gray dncnn-color kpn-burst kpn-burst-raw deblur-ms lowlight-raw)
selected=("${@:-${models[@]:0:5}}")  # by default the five DnCNNs
for name in "${selected[@]}"; do
  [[ " ${models[*]} " == *" $name "* ]] || { echo "unknown model $name (one of: ${models[*]})" >&2; exit 2; }
done
out=${OUT:?run this through the device tool, which sets OUT}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT  # everything worth keeping is in $OUT by then
export PYTHONPATH=. PYTHONUNBUFFERED=1
common=(--device "${DEVICE:-cuda}" --minutes "$minutes" --steps 1000000000
        --weights-dir "$work/weights" --cache-dir "$work/cache" --checkpoint-minutes 1000)
mkdir -p "$work/weights" "$work/logs"
nvidia-smi > "$work/logs/nvidia-smi.txt" 2>&1

is_selected() { [[ " ${selected[*]} " == *" $1 "* ]]; }

train() {  # name, then the command's own arguments; skips a model not selected
  local name=$1
  shift
  is_selected "$name" || return 0
  local photos=$data
  [[ $name == dncnn-color ]] && photos=${COLOR_DATA:-$data}
  "$@" "${common[@]}" --data "$photos" > "$work/logs/$name.log" 2>&1 ||
    echo "$name failed, see logs.tar:$name.log" | tee -a "$work/failed"
}

for level in 15 25 50; do
  train "dncnn-gray-$level" python -m pipelines.train_dncnn "dncnn-gray-$level" --batch 128 --lr 3e-4 \
    --init "weights/dncnn-gray-$level.safetensors" --state "$work/dncnn-gray-$level.train.safetensors" &
done
train dncnn-gray python -m pipelines.train_dncnn dncnn-gray --batch 128 --lr 3e-4 \
  --init weights/dncnn-gray.safetensors --state "$work/dncnn-gray.train.safetensors" &
train dncnn-color python -m pipelines.train_dncnn dncnn-color --batch 128 --lr 3e-4 \
  --init weights/dncnn-color.safetensors --state "$work/dncnn-color.train.safetensors" &
train kpn-burst python -m pipelines.train_kpn --prealign --batch 64 --downsample 2 --lr 1e-4 --anneal 0.9 \
  --max-shift 1.0 --weights-dtype float16 --init weights/kpn-burst.safetensors \
  --state "$work/kpn-burst.train.safetensors" &
train kpn-burst-raw python -m pipelines.train_kpn --bayer --prealign --batch 64 --downsample 1 --lr 1e-4 \
  --anneal 0.9 --max-shift 1.0 --weights-dtype float16 --init weights/kpn-burst-raw.safetensors \
  --state "$work/kpn-burst-raw.train.safetensors" &
if is_selected deblur-ms; then
  cp weights/checkpoints/deblur-ms.train.safetensors "$work/weights/deblur-ms.train.safetensors"
fi
train deblur-ms python -m pipelines.train_deblur --batch 32 --patch 128 --lr 2e-4 \
  --state "$work/weights/deblur-ms.train.safetensors" &
train lowlight-raw python -m pipelines.train_lowlight --batch 32 --lr 3e-4 --weights-dtype float16 \
  --init weights/lowlight-raw.safetensors --state "$work/lowlight-raw.train.safetensors" &
timeout 300 python -m pytest -q -p no:cacheprovider tests/test_gpu.py > "$work/logs/test_gpu.log" 2>&1 &
wait

for card in "$work"/weights/*.json; do
  name=$(basename "$card" .json)
  tar -cf "$out/$name.tar" -C "$work/weights" $(cd "$work/weights" && ls "$name".*)
done
tar -cf "$out/logs.tar" -C "$work/logs" .
for log in "$work"/logs/*.log; do
  echo "== $(basename "$log")"
  grep -E "validation|Error|error|passed|failed" "$log" | tail -3
done
[[ ! -s "$work/failed" ]]
