#!/usr/bin/env bash
# One GPU lease (the `device` tool), the DnCNNs at once (or the MODELs named, see below): trains each on the one
# GPU for MINUTES, continuing from its shipped weights (deblur-ms from its training state), and sends the weights and
# cards back as one tar per model, plus logs.tar. The models share the GPU, so naming fewer gives each more steps. The
# learning rates anneal by time (ResumableRun.progress), so any MINUTES gives usable weights.
#
#   here:    python -m pipelines.pack_photos --out cache/photos-512q95 --long-side 512 --quality 95
#            (10.9 MB; it says whether the checkout and the pack fit in the GPU machine's 64 MiB: on 2026-12-05 the
#            checkout took 52.1 MiB, so 62.5 in all. The 288 px lossless pack of the 2026-12-04 runs, 13.1 MB, no
#            longer fits; the 512 px one also gives the DnCNNs 30267 training patches instead of 8010. Lossy WebP
#            keeps the colors at half resolution: the photos are 46.5 dB from the downscaled ones in gray on average
#            (44.6 at worst) but 40.8 in color (31.5 at worst). On 2026-12-05 this pack raised dncnn-color on CBSD68
#            and Kodak24 but cost it 0.17-0.21 dB at sigma 15 on McMaster (the most saturated set) and the held-out
#            photos, where lossless packs had raised it most (weights/TRAINING.md), so give dncnn-color a lossless
#            pack, e.g. of 256 px, 10.6 MB and 6184 patches)
#   device:  run(command="RESTORE_COMMIT=<HEAD here> bash pipelines/device_train.sh 7 cache/photos-512q95
#                dncnn-gray-15 dncnn-gray-25 dncnn-gray-50 dncnn-gray", carry=["cache/photos-512q95"], timeout_s=600)
#            and dncnn-color in a call of its own that carries a lossless pack (`pack_photos --out cache/photos-256
#            --long-side 256`); naming no model trains all five DnCNNs on the one pack
#            On 2026-12-05 an H100 took about 40 s to start, four DnCNNs for 7.5 minutes ran 465 s (31-39 steps a
#            second each) and three for 3.5 minutes 227 s (49 each): the two calls used 780 s of a 900 s lease.
#            RESTORE_COMMIT: `git rev-parse --short HEAD` run here, written into the command; the device gets the
#            working tree but the .git of the session's start, so its own git names a stale commit in the cards.
#   here:    for t in <files_at>/*.tar; do tar -xf "$t" -C cache/staging; done
#            RESTORE_WEIGHTS_DIR=cache/staging python -m benchmarks.denoise ... --output /tmp/ab-denoise (and the
#            other benchmarks, each with an --output outside benchmarks/results), copy what
#            beats weights/ into it, rerun the benchmarks with the new weights.
# The cards' validation numbers come from the packed photos' held-out crops, so they do not compare with cards
# trained on ../shared/data/train directly. A leg ships if it raises the validation PSNR (weights/TRAINING.md): measure
# the shipped weights on the same pack with `python -m pipelines.train_dncnn NAME --data cache/photos-512q95 --init
# weights/NAME.safetensors --steps 0 --weights-dir /tmp/x --state /tmp/x/new.safetensors` (other trainers: the
# options their card's command gives too, e.g. --prealign for kpn-burst).
#
# Photos packed at 288 px are too small for the burst models' 320 px training crops, so kpn-burst and kpn-burst-raw
# train on 32 px frames (192 px crops, which 116 of the 188 packed photos hold). That hurts: 8.5 minutes of it
# (2026-12-04, 2594 and 2241 steps) lowered 12 and 14 of the 15 benchmark rows of kpn-burst and kpn-burst-raw, by up
# to 0.33 dB, and deblur-ms (434 patches of 128 px from these photos, 12819 steps) moved -0.25 to +0.22 dB; none was
# shipped. So the DnCNNs are the default; name the others only with photos that hold their crops, e.g. the 188
# photos at 512 px (`pack_photos --out cache/photos-512q95 --long-side 512 --quality 95`, 10.9 MB) with BURST_SIZE=64
# (64 px frames, the CPU runs' size): only 280 crops of 320 px from those, against 2560 from the full-size photos, so
# watch for overfitting; a CPU dry run of it (0.3 minutes, kpn-burst and deblur-ms) works (2026-12-04). The CUDA tests
# (tests/test_gpu.py) run beside the training; their result is in logs.tar. DEVICE=cpu and a fraction of a minute
# make a dry run here (tests/test_device_train.py). That machine has no kornia, rawpy or bm3d and no room to carry
# them; the trainings here need none of them (tests/test_imports.py). Only the invisp training needs rawpy, so it is
# not among the models here. The exit status is 1 if a training failed.
set -uo pipefail
shopt -s nullglob  # no card back (a failed run): no tar for it
usage="usage: device_train.sh MINUTES PHOTO_FOLDER [MODEL...]"
minutes=${1:?$usage}
data=${2:?$usage}
shift 2
models=(dncnn-gray-15 dncnn-gray-25 dncnn-gray-50 dncnn-gray dncnn-color kpn-burst kpn-burst-raw deblur-ms)
selected=("${@:-${models[@]:0:5}}")  # by default the five DnCNNs
for name in "${selected[@]}"; do
  [[ " ${models[*]} " == *" $name "* ]] || { echo "unknown model $name (one of: ${models[*]})" >&2; exit 2; }
done
out=${OUT:?run this through the device tool, which sets OUT}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT  # everything worth keeping is in $OUT by then
export PYTHONPATH=. PYTHONUNBUFFERED=1
burst_size=${BURST_SIZE:-32}  # frame side of the burst models' training bursts: 64 wants photos of 320 px and more
common=(--device "${DEVICE:-cuda}" --minutes "$minutes" --steps 1000000000 --data "$data"
        --weights-dir "$work/weights" --cache-dir "$work/cache" --checkpoint-minutes 1000)
mkdir -p "$work/weights" "$work/logs"
nvidia-smi > "$work/logs/nvidia-smi.txt" 2>&1

is_selected() { [[ " ${selected[*]} " == *" $1 "* ]]; }

train() {  # name, then the command's own arguments; skips a model not selected
  local name=$1
  shift
  is_selected "$name" || return 0
  "$@" "${common[@]}" > "$work/logs/$name.log" 2>&1 ||
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
train kpn-burst python -m pipelines.train_kpn --prealign --batch 64 --size "$burst_size" --lr 1e-4 --anneal 0.9 \
  --max-shift 1.0 --init weights/kpn-burst.safetensors --state "$work/kpn-burst.train.safetensors" &
train kpn-burst-raw python -m pipelines.train_kpn --bayer --prealign --batch 64 --size "$burst_size" --lr 1e-4 \
  --anneal 0.9 --max-shift 1.0 --weights-dtype float16 --init weights/kpn-burst-raw.safetensors \
  --state "$work/kpn-burst-raw.train.safetensors" &
if is_selected deblur-ms; then
  cp weights/checkpoints/deblur-ms.train.safetensors "$work/weights/deblur-ms.train.safetensors"
fi
train deblur-ms python -m pipelines.train_deblur --batch 32 --patch 128 --lr 2e-4 \
  --state "$work/weights/deblur-ms.train.safetensors" &
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
