#!/usr/bin/env bash
# The bad-input table of README.md and the tests stay in sync: each row names the ctest
# entry that tests it and the text that test asserts; this checks that the entry exists, that its
# test source really asserts that text (for the generated bad files: that make_bad_inputs.py gives
# that case exactly that text), that the row's message contains it, and that every bad_input_*
# entry has a row. The messages themselves are asserted by the tests the rows name.
#   usage: test_bad_input_table.sh PATH/TO/velofield
set -uo pipefail
VF=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$(dirname "$VF")/.." && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ctest -N --test-dir "$BUILD" | sed -n 's/^ *Test *#[0-9]*: //p' > "$tmp/ctests"
[ -s "$tmp/ctests" ] || { echo "FAIL no ctest entries found in $BUILD"; exit 1; }
$PY "$HERE/../interop/anndata_fixture.py" "$tmp/good.h5ad" && $PY "$HERE/make_bad_inputs.py" "$tmp/good.h5ad" "$tmp/bad" > "$tmp/cases" \
  || { echo "FAIL cannot run make_bad_inputs.py"; exit 1; }

$PY - "$ROOT" "$ROOT/README.md" "$tmp/ctests" "$tmp/cases" <<'PY'
import re
import sys
from pathlib import Path

root, doc, ctest_file, cases_file = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
ctests = set(Path(ctest_file).read_text().split())
generated = {}
for line in Path(cases_file).read_text().splitlines():
    name, _file, key, words = line.split("|")
    generated[name] = (key, words)

text = doc.read_text()
m = re.search(r"<!-- bad-input-table -->(.*?)<!-- /bad-input-table -->", text, re.S)
if not m:
    sys.exit(f"FAIL {doc}: no <!-- bad-input-table --> section")
rows = [l for l in m.group(1).splitlines() if l.startswith("|") and not re.match(r"^\|[\s:|-]+\|$", l)][1:]


def source_of(test):
    """The files whose text the test asserts, by ctest naming (tests/CMakeLists.txt)."""
    if test.startswith("bad_input_"):
        return [root / "tests/e2e/test_bad_input.sh"]
    for prefix in ("e2e_", "interop_"):
        if test.startswith(prefix):
            return [root / "tests" / prefix[:-1] / (test[len(prefix):] + ".sh")]
    mpi = re.match(r"^(test_\w+)_np\d+$", test)
    if mpi:
        return [root / "tests/mpi" / (mpi.group(1) + ".cpp")]
    return list((root / "tests/unit").glob("test_*.cpp"))


problems, named = [], set()
for row in rows:
    cells = [c.strip() for c in row.strip().strip("|").split(" | ")]
    if len(cells) != 5:
        problems.append(f"row does not have 5 columns: {row}")
        continue
    _input, _problem, message, asserted, test = cells
    message, asserted, test = (c.strip("`") for c in (message, asserted, test))
    named.add(test)
    if test not in ctests:
        problems.append(f"{test}: no such ctest entry (row: {asserted})")
        continue
    if asserted not in message:
        problems.append(f"{test}: the row's message does not contain the asserted text '{asserted}'")
    case = test[len("bad_input_"):] if test.startswith("bad_input_") else None
    if case in generated:
        key, words = generated[case]
        if asserted != words:
            problems.append(f"{test}: make_bad_inputs.py asserts '{words}', the table says '{asserted}'")
        if key and key not in message:
            problems.append(f"{test}: the row's message does not name the key '{key}' the test asserts")
    elif not any(asserted in f.read_text() for f in source_of(test) if f.exists()):
        problems.append(f"{test}: '{asserted}' is not asserted in {', '.join(str(f.relative_to(root)) for f in source_of(test))}")
for test in sorted(t for t in ctests if t.startswith("bad_input_") and t not in named):
    problems.append(f"{test}: a bad-input test without a row in the table")
for p in problems:
    print("FAIL " + p)
print(f"bad-input table: {len(rows)} rows, {len(named)} tests, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY
