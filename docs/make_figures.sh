#!/usr/bin/env bash
# Regenerates the pictures in docs/: the HTML report screenshot (headless Chromium:
# `apt-get install chromium`) and the Pareto plot of the example sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
python examples/quickstart/quickstart.py --out "$out" > /dev/null
seedcc report "$out/small_cnn.onnx" --config small --html "$out/report.html" --quiet > /dev/null
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,2600 \
  --screenshot="$PWD/docs/report_screenshot.png" "file://$out/report.html" 2> /dev/null
seedcc sweep "$out/small_cnn.onnx" --grid examples/sweep/sweep.toml -o "$out/sweep" --serial --quiet > /dev/null
cp "$out/sweep/pareto.png" docs/sweep_pareto.png
rm -rf "$out"
