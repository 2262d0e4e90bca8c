#!/usr/bin/env bash
# The svd preset's GPU figures in one command (< 8 minutes on one H100/H200), see bench/gpu_check.py:
#   train steps/s (bf16, gradient checkpointing, 320x512 x 16 frames), inference ms/frame + peak memory
#   (480x640, 1 and 3 Euler steps), long video 1,000 vs 100 frames, and FSDP training under
#   `accelerate launch` (one process per GPU; accelerate's FSDP needs an accelerator, so there is no
#   CPU variant of that part).
#
#   bash bench/gpu_check.sh                          # random-weight SVD architecture
#   bash bench/gpu_check.sh --pretrained /models/svd # pretrained SVD weights (a local diffusers folder)
#   bash bench/gpu_check.sh --cpu-smoke              # the same code on a CPU with a small SVD-layout folder
#
# Figures are printed as JSON lines and appended to ${OUT:-bench_out}/gpu_check.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
OUTDIR=${OUT:-bench_out}
mkdir -p "$OUTDIR"
JSON="$OUTDIR/gpu_check.jsonl"
: > "$JSON"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

"$PY" bench/gpu_check.py --parts train,infer,long --json "$JSON" "$@"

NGPU=$("$PY" -c "import torch; print(torch.cuda.device_count())")
CPU_SMOKE=0
for a in "$@"; do [ "$a" = "--cpu-smoke" ] && CPU_SMOKE=1; done
if [ "$CPU_SMOKE" = 1 ] || [ "$NGPU" = 0 ]; then
  # accelerate's FSDP plugin needs an accelerator: on a CPU the fsdp part runs as one plain process
  # (same training, checkpoint and reload code, no sharding)
  echo "fsdp: no GPU, running the part without FSDP (one process)"
  "$PY" bench/gpu_check.py --parts fsdp --json "$JSON" "$@"
  exit 0
fi
CFG=$(mktemp --suffix .yaml)
cat > "$CFG" <<YAML
compute_environment: LOCAL_MACHINE
distributed_type: FSDP
num_processes: $NGPU
num_machines: 1
machine_rank: 0
mixed_precision: bf16
fsdp_config:
  fsdp_version: 1
  fsdp_sharding_strategy: FULL_SHARD
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_transformer_layer_cls_to_wrap: SpatioTemporalResBlock,TransformerSpatioTemporalModel
  fsdp_state_dict_type: FULL_STATE_DICT
  fsdp_use_orig_params: true
  fsdp_sync_module_states: true
  fsdp_offload_params: false
YAML
"$PY" -m accelerate.commands.launch --config_file "$CFG" bench/gpu_check.py --parts fsdp --json "$JSON" "$@"
rm -f "$CFG"
echo "figures: $JSON"
