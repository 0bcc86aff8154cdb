#!/bin/sh
# Reproduces models/default.raqib bit for bit from training-data/ (the test
# `default_model_reproduces_bit_for_bit` re-runs it and compares the bytes).
#   usage: models/train-default.sh [RAQIB_BINARY] [OUT]
#   default: target/release/raqib, models/default.raqib (+ models/default.raqib.report.json)
# 5-fold cross-validation chooses each label's threshold for 97% precision on out-of-fold scores;
# the fixed SOURCE_DATE_EPOCH makes the date stored in the model reproducible.
set -eu
cd "$(dirname "$0")/.."
raqib=${1:-target/release/raqib}
out=${2:-models/default.raqib}
SOURCE_DATE_EPOCH=1795000000 "$raqib" train --quiet \
  --data training-data/comments.csv \
  --label-column violence --label-column extremism \
  --cv 5 --c 16 --min-precision 0.97 \
  --name raqib-default --out "$out"
