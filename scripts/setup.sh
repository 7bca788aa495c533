#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install the project (with its dev tools).
# Finds python3.13 / python3.12 on the PATH or under pyenv; set PYTHON=/path/to/python to choose.
# A quick no-op when nothing changed since the last install: the install is stamped with a
# hash of what it depends on (pyproject.toml, setup.py, this script, the interpreter);
# FORCE=1 reinstalls anyway.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  local candidates=(python3.13 python3.12 python3)
  if command -v pyenv >/dev/null 2>&1; then
    local root; root=$(pyenv root)
    for v in $(ls "$root/versions" 2>/dev/null | grep -E '^3\.(1[2-9])' | sort -rV); do
      candidates+=("$root/versions/$v/bin/python")
    done
  fi
  for c in "${candidates[@]}"; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return
    fi
  done
  echo "error: Python 3.12 or newer is required (Mesa 3.5 needs it). Install it, e.g. 'pyenv install 3.12',\
 or set PYTHON=/path/to/python3.12" >&2
  exit 1
}

EXTRAS="dev,cluster,calibration,app,workbench"
STAMP=.venv/.setup-stamp

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
  py=$(find_python)
  echo "using $py ($("$py" --version))" >&2
  rm -rf .venv
  "$py" -m venv .venv
fi

# What the install depends on; the interpreter's version and path are part of it.
wanted=$(.venv/bin/python - "$EXTRAS" <<'EOF'
import hashlib
import sys

digest = hashlib.sha256()
for name in ("pyproject.toml", "setup.py", "scripts/setup.sh"):
    with open(name, "rb") as f:
        digest.update(f.read())
digest.update(f"{sys.argv[1]} {sys.version} {sys.executable}".encode())
print(digest.hexdigest())
EOF
)
if [ "${FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ] && [ -x .venv/bin/alliance-sim ]; then
  exit 0  # up to date
fi
rm -f "$STAMP"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"
# Compile the model now, so that the first study after set-up starts from the cache.
.venv/bin/python -m sim.warm
echo "$wanted" > "$STAMP"
