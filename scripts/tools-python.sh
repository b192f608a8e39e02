#!/bin/sh
# Prints the path of the Python interpreter that the tests run the tools
# nobody here wrote with: moto's server, boto3/botocore, cfn-lint with the SAM
# translator, openapi-spec-validator (tests/requirements-tools.txt). The first
# one that imports them all wins:
#   0. $EBSSH_TOOLS_PYTHON, when a caller already found one (tests/run exports
#      it, so a suite that changes HOME or PATH, as the demo's does, finds the
#      same interpreter); empty counts as unset;
#   1. build/pyvenv, the virtual environment `make deps` makes on a machine
#      whose Python lacks them (a plain Debian 12);
#   2. the `python3` on PATH (on the development machines a Python 3.11 that
#      ships them, so nothing is downloaded);
#   3. a pyenv's Pythons ($PYENV_ROOT, default ~/.pyenv), for a shell whose
#      PATH lacks pyenv's (a non-interactive one does not read ~/.bashrc);
#   4. /usr/local/bin/python3, then Debian's /usr/bin/python3.
# Exits 1, printing nothing, when none has them.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
probe='import moto.server, boto3, botocore, cfnlint, samtranslator, openapi_spec_validator, yaml, sys; print(sys.executable)'
pyenv_root=${PYENV_ROOT:-${HOME:-/root}/.pyenv}
for py in "${EBSSH_TOOLS_PYTHON:-}" "$root/build/pyvenv/bin/python3" "$(command -v python3 2>/dev/null || true)" \
	"$pyenv_root"/shims/python3 "$pyenv_root"/versions/*/bin/python3 \
	/usr/local/bin/python3 /usr/bin/python3; do
	[ -n "$py" ] && [ -x "$py" ] || continue
	# The interpreter's own path, not a shim's: tests start it many times.
	if exe=$("$py" -c "$probe" 2>/dev/null) && [ -n "$exe" ]; then
		echo "$exe"
		exit 0
	fi
done
exit 1
