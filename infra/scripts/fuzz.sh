#!/usr/bin/env bash
# `infra/scripts/fuzz.sh [SECONDS] [TARGET...]`: run the cargo-fuzz targets in fuzz/ (every parser of
# untrusted input: bus envelopes, WebSocket client frames, entity extraction, redaction) for a bounded
# time each (default 20 s), and fail if any target finds a crash.
#
# libFuzzer needs nightly compiler flags (-Zsanitizer, -Cpasses=sancov-module); our toolchain is
# stable, so RUSTC_BOOTSTRAP=1 lets stable rustc accept them. Corpora and crash artifacts live under
# ~/.cache/joxai/fuzz, outside the tree; fuzz/seeds/ holds the small committed seed inputs.
source "$(dirname "$0")/lib.sh"
SECONDS_EACH="${1:-20}"; shift || true
cd "$JOXAI_ROOT/fuzz"
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$JOXAI_CACHE/target-fuzz"
WORK="$JOXAI_CACHE/fuzz"
TARGETS=("$@")
# Targets to leave out (space-separated), e.g. while a known product bug is being fixed.
SKIP=" ${JOXAI_FUZZ_SKIP-} "
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(cargo fuzz list | while read -r t; do [[ "$SKIP" == *" $t "* ]] || echo "$t"; done)
fi
failed=()
for target in "${TARGETS[@]}"; do
  mkdir -p "$WORK/corpus/$target" "$WORK/artifacts/$target"
  log "fuzzing $target for ${SECONDS_EACH}s"
  # -s none: the address sanitizer needs a nightly std; the code is #![forbid(unsafe_code)], so panics
  # (and libFuzzer's own timeout / out-of-memory checks) are what we look for.
  if nice -n 10 cargo fuzz run -s none "$target" "$WORK/corpus/$target" "seeds/$target" -- \
      -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$WORK/artifacts/$target/" -print_final_stats=1 2>"$WORK/$target.log"; then
    runs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$WORK/$target.log" | grep -Eo '[0-9]+$' || echo '?')"
    log "$target: no crash in $runs runs (corpus: $(ls "$WORK/corpus/$target" | wc -l) inputs)"
  else
    tail -n 30 "$WORK/$target.log" >&2
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  die "fuzzing found crashes in: ${failed[*]} (inputs in $WORK/artifacts/)"
fi
log "fuzzing: ${#TARGETS[@]} targets, no crash"
