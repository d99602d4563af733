#!/usr/bin/env bash
# Runs a CUDA module end to end on a machine with an NVIDIA GPU, through the provider's own path:
# the module is committed to a local git repository, checked as a provider checks a job before it
# signs (spec hash, image, GPUs), run by the Docker executor with a one-GPU slot, and its results
# added to a results store. Prints what the container saw (nvidia-smi) and what the executor
# recorded, and exits non-zero when anything is missing or wrong.
#
# Needs: an NVIDIA GPU and driver (nvidia-smi), Docker with the NVIDIA Container Toolkit (the
# `nvidia` runtime in `docker info`), and the CUDA image below, present or pullable:
#   GPU_CHECK_IMAGE (default nvidia/cuda:12.4.1-base-ubuntu22.04), which ships nvidia-smi through
#   the toolkit's driver mounts. On a machine with no registry, `docker load` it first.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${GPU_CHECK_IMAGE:-nvidia/cuda:12.4.1-base-ubuntu22.04}

fail () { echo "gpu-check: $*" >&2; exit 1; }

command -v nvidia-smi >/dev/null || fail "no nvidia-smi on this machine: it needs an NVIDIA GPU and its driver"
nvidia-smi -L >/dev/null 2>&1 || fail "nvidia-smi finds no GPU: $(nvidia-smi -L 2>&1 | head -n 1)"
command -v docker >/dev/null || fail "no docker command: install Docker"
docker info >/dev/null 2>&1 || fail "no Docker engine answers: start dockerd or set DOCKER_HOST"
docker info --format '{{json .Runtimes}}' | grep -q '"nvidia"' \
  || fail "Docker has no nvidia runtime: install the NVIDIA Container Toolkit and run 'nvidia-ctk runtime configure --runtime=docker', then restart dockerd"

if ! docker image inspect "$image" >/dev/null 2>&1; then
  echo "gpu-check: pulling $image" >&2
  docker pull -q "$image" >/dev/null || fail "cannot pull $image: load it with 'docker load' or set GPU_CHECK_IMAGE"
fi
image_id=$(docker image inspect --format '{{.Id}}' "$image")

echo "host: $(nvidia-smi -L | head -n 1)"
echo "image: $image ($image_id)"
cd "$repo"
# the check commits its module to a local repository, which a node fetches only when told it may
LILYPAD_MODULE_SCHEMES=https,file exec node --import tsx scripts/gpu-check.ts "$image_id"
