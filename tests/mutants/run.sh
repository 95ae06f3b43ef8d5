#!/usr/bin/env bash
# tests/mutants/run.sh (make mutants): the tests are held to catching deliberate bugs.
# Each tests/mutants/NAME.mut is one small bug in a mechanism, a sed expression applied
# alone to a scratch copy of the tree; the tests it names must then fail.  Prints
# caught / NOT CAUGHT per mutant and fails when one is not caught, no longer applies,
# does not build, or when a named test fails without any mutant (the control run).
#   tests/mutants/run.sh [NAME...]     (default: every mutant)
# A .mut file (tests/README.md, "Mutants"):
#   # one line: what the bug is
#   file: PATH             the file it changes
#   sed: EXPRESSION        GNU sed, anchored on code, not line numbers (repeatable)
#   caught-by: TEST...     unit binaries and/or integration scripts; each must fail
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SCRATCH=$BUILD/mutants/tree
JOBS=${JOBS:-2}

mutants=()
if [ $# -gt 0 ]; then
  for n in "$@"; do mutants+=("tests/mutants/${n%.mut}.mut"); done
else
  mutants=(tests/mutants/*.mut)
fi

field() { sed -n "s/^$1: //p" "$2"; }

# The scratch tree: the working tree's files (tracked and new, not ignored) and a copy
# of its build with timestamps kept, so make rebuilds only what a mutant changes.
echo "== scratch copy in $SCRATCH"
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH/build"
git ls-files -z -co --exclude-standard | xargs -0 cp -a --parents -t "$SCRATCH" 2>/dev/null
for d in "$BUILD"/*; do
  case $(basename "$d") in
    mutants) ;;
    npm) ln -s "$(cd "$d" && pwd)" "$SCRATCH/build/npm" ;; # read only, and large
    *) cp -a "$d" "$SCRATCH/build/" ;;
  esac
done

# build TEST...: make what the tests need in the scratch tree (quietly); unit tests
# need only their binary, scripts need every program.
build() {
  local t targets=()
  for t in "$@"; do
    if [ -f "tests/integration/$t.sh" ]; then targets=(all asan); break; fi
    targets+=("build/asan/tests/$t")
  done
  make -C "$SCRATCH" -j"$JOBS" BUILD=build "${targets[@]}" >"$SCRATCH/build.log" 2>&1
}

# run TEST: 0 when the test passes in the scratch tree (its output in $SCRATCH/TEST.log).
run() {
  (cd "$SCRATCH" && BUILD=build tests/run.sh "$1") >"$SCRATCH/$1.log" 2>&1
}

# The control: every named test passes on the unchanged copy, or catching means nothing.
tests=()
for m in "${mutants[@]}"; do
  [ -f "$m" ] || { echo "no mutant $m"; exit 2; }
  for t in $(field caught-by "$m"); do
    case " ${tests[*]} " in *" $t "*) ;; *) tests+=("$t") ;; esac
  done
done
echo "== control: ${tests[*]} on the unchanged tree"
build "${tests[@]}" || { echo "the unchanged tree does not build:"; tail -20 "$SCRATCH/build.log"; exit 1; }
bad=0
for t in "${tests[@]}"; do
  if run "$t"; then echo "  passes   $t"
  else echo "  FAILS    $t, without a mutant: fix it first ($SCRATCH/$t.log)"; tail -5 "$SCRATCH/$t.log"; bad=1; fi
done
[ $bad = 0 ] || exit 1

caught=0 missed=0
for m in "${mutants[@]}"; do
  name=$(basename "$m" .mut)
  what=$(sed -n '1s/^# //p' "$m")
  f=$(field file "$m")
  by=$(field caught-by "$m")
  sedargs=()
  while IFS= read -r e; do sedargs+=(-e "$e"); done < <(field sed "$m")
  echo "== $name: $what"
  cp -a "$SCRATCH/$f" "$SCRATCH/$f.orig"
  sed -i "${sedargs[@]}" "$SCRATCH/$f"
  if cmp -s "$SCRATCH/$f" "$SCRATCH/$f.orig"; then
    echo "  NOT CAUGHT: the sed expression no longer changes $f (update the anchor)"
    missed=$((missed + 1))
  else
    diff "$SCRATCH/$f.orig" "$SCRATCH/$f" | grep '^[<>]' | sed 's/^/    /'
    if ! build $by; then
      echo "  NOT CAUGHT: the mutant does not build:"; grep -m5 'error' "$SCRATCH/build.log"
      missed=$((missed + 1))
    else
      missing=""
      for t in $by; do
        if run "$t"; then missing+=" $t"; else echo "  caught by $t:$(sed -n '/^failed:/,$p' "$SCRATCH/$t.log" | grep '^  ' | head -3 | tr -s ' ')"; fi
      done
      if [ -z "$missing" ]; then caught=$((caught + 1))
      else echo "  NOT CAUGHT by$missing"; missed=$((missed + 1)); fi
    fi
  fi
  # back to the original, newer than its object so the next build recompiles it
  mv "$SCRATCH/$f.orig" "$SCRATCH/$f"
  touch "$SCRATCH/$f"
done
echo "mutants: $caught caught, $missed not caught"
[ "$missed" -eq 0 ]
