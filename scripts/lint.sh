#!/usr/bin/env bash
# Lint: `ruff check .` over the repo, mypy (strict, from pyproject's [tool.mypy]) over the
# code in src/rescue, api, projections and simulator, and `lint-imports` (the import contracts
# of pyproject's [tool.importlinter]). Runs all three; exits non-zero if any failed.
#
# Why mypy does not simply run as `mypy src/rescue api projections simulator`: the package
# `rescue` is assembled by setuptools' package-dir mapping (api/ is rescue.api, projections/ is
# rescue.projections, simulator/ is rescue.simulator), and the editable install exposes it
# through an import hook that mypy cannot follow. Given the four directories, mypy would call
# the API package `api` and could not resolve any `import rescue.api...` (ignore_missing_imports
# then turns it into Any silently). So we build the real package layout as a tree of symlinks,
# check `-p rescue` there, and map the reported paths back to repository paths. lint-imports
# has the same blind spot (its graph of the editable install has no rescue.api at all, so every
# contract about it would pass unchecked) and reads the package from the same tree.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Make sure .venv exists and is up to date with pyproject.toml (no PostgreSQL, no pytest).
"$ROOT/scripts/test.sh" --venv-only

rc=0
echo "[lint.sh] ruff check ." >&2
"$ROOT/.venv/bin/ruff" check . || rc=1

echo "[lint.sh] mypy: src/rescue api projections simulator (as package rescue)" >&2
mkdir -p "$ROOT/var"
TREE="$(mktemp -d "$ROOT/var/mypy-tree.XXXXXX")"
trap 'rm -rf -- "$TREE"' EXIT
mkdir "$TREE/rescue"
for entry in "$ROOT"/src/rescue/*; do
    ln -s "$entry" "$TREE/rescue/"
done
for sub in api projections simulator; do
    ln -s "$ROOT/$sub" "$TREE/rescue/$sub"
done
(
    cd "$TREE"
    "$ROOT/.venv/bin/mypy" --config-file "$ROOT/pyproject.toml" \
        --cache-dir "$ROOT/.mypy_cache" -p rescue 2>&1 |
        sed -E -e 's#^rescue/(api|projections|simulator)/#\1/#' -e 's#^rescue/#src/rescue/#'
) || rc=1

echo "[lint.sh] lint-imports: the import contracts of pyproject.toml" >&2
(
    # PYTHONPATH puts the tree before the editable install's finder; --no-cache because the
    # tree's path is new every run.
    cd "$TREE"
    PYTHONPATH="$TREE" "$ROOT/.venv/bin/lint-imports" --no-cache "$ROOT/pyproject.toml" |
        sed -E -e "s#$TREE/##g"
) || rc=1
exit "$rc"
