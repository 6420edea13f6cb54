#!/bin/sh
# SPDX-License-Identifier: MIT
# The project's layering rules (listed below), checked (issue 12 section 3). Prints TAP; exit 1 on a violation.
#   - one file per third-party header: <curl/curl.h> in src/http.c, <yaml.h> in src/kubeconfig.c
#     (which also implements yamlh.h, the small read-only YAML view other modules use), <git2.h>
#     in src/gitmeta.c; no other file under src/ includes them
#   - config.c is the only reader of the environment: no getenv/secure_getenv elsewhere in src/
#   - headers that a module must not reach for (a helper moved down, a phase not calling another)
# usage: check-source.sh [SOURCE_ROOT]   (default: the repository this script is in)
#        check-source.sh --self-test      plants each kind of violation in a copy and expects failure
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=${1:-$here/../..}

if [ "$root" = "--self-test" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	n=0
	failed=0
	plant() { # description, file, line
		n=$((n + 1))
		rm -rf "$tmp/tree"
		mkdir -p "$tmp/tree"
		cp -R "$here/../../src" "$tmp/tree/src"
		printf '%s\n' "$3" >>"$tmp/tree/$2"
		if sh "$here/check-source.sh" "$tmp/tree" >/dev/null 2>&1; then
			echo "not ok $n - a planted violation is caught: $1"
			failed=1
		else
			echo "ok $n - a planted violation is caught: $1"
		fi
	}
	n=$((n + 1))
	if sh "$here/check-source.sh" "$here/../.." >/dev/null 2>&1; then
		echo "ok $n - the tree itself passes"
	else
		echo "not ok $n - the tree itself passes"
		failed=1
	fi
	plant "<curl/curl.h> outside http.c" src/main.c '#include <curl/curl.h>'
	plant "<curl/curl.h> with spaces" src/clients/github.c '#  include  <curl/curl.h>'
	plant "<yaml.h> outside kubeconfig.c" src/config.c '#include <yaml.h>'
	plant "<git2.h> outside gitmeta.c" src/notify.c '#include <git2.h>'
	plant "getenv outside config.c" src/log.c 'static const char *x(void) { return getenv("HOME"); }'
	plant "secure_getenv outside config.c" src/util.c 'static char *y(void) { return secure_getenv("X"); }'
	plant "a new file including curl" src/extra.c '#include <curl/curl.h>'
	plant "http.c including config.h" src/http.c '#include "config.h"'
	plant "rollback.c including checks/smoke.h" src/rollback.c '#include "checks/smoke.h"'
	plant "<openssl/evp.h> outside digest.c" src/issue.c '#include <openssl/evp.h>'
	echo "1..$n"
	exit $failed
fi

cd "$root" || exit 2
n=0
bad=0

# report NAME OFFENDING-LINES: one TAP line; the offending lines as diagnostics
report() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		printf '%s\n' "$2" | sed 's/^/#   /'
		bad=1
	fi
}

sources=$(find src -name '*.[ch]' | LC_ALL=C sort)

# only_in HEADER-REGEX ALLOWED-FILES WHAT   (ALLOWED-FILES: one path, or several separated by '|')
only_in() {
	hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*<$1>" $sources /dev/null | grep -vE "^($2):")
	report "$3 only in $(printf '%s' "$2" | sed 's/|/ and /g')" "$hits"
}
only_in 'curl/curl\.h' src/http.c '<curl/curl.h>'
only_in 'curl/[a-z]+\.h' src/http.c 'any libcurl header'
only_in 'yaml\.h' src/kubeconfig.c '<yaml.h>'
only_in 'git2(\.h|/[a-z_/]+\.h)' src/gitmeta.c '<git2.h>'
only_in 'openssl/[a-z_]+\.h' src/digest.c 'any OpenSSL (libcrypto) header'

# a call, not a mention in a comment: lines that are comment text are left out
hits=$(grep -nE '(^|[^A-Za-z0-9_])(secure_)?getenv[[:space:]]*\(' $sources /dev/null |
	grep -v '^src/config\.c:' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)')
report "getenv only in src/config.c (the only reader of the environment)" "$hits"

# never_includes FILE HEADER WHY
never_includes() {
	[ -f "$1" ] || return 0
	re=$(printf '%s' "$2" | sed 's/[.]/\\./g')
	hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$re\"" "$1" /dev/null)
	report "$1 does not include $2 ($3)" "$hits"
}
never_includes src/http.c 'config.h' 'durations are in util'
never_includes src/main.c 'phases.h' 'each phase has its own header'
never_includes src/report.c 'http.h' 'url_for_log is in util'
never_includes src/rollback.c 'checks/smoke.h' 'main.c runs the recovery checks'
never_includes src/issue.c 'clients/slack.h' 'the Slack message is message.c'
never_includes src/kubectl.c 'clients/k8s.h' 'kubectl.c is pure: no API calls'
never_includes src/kubectl.c 'http.h' 'kubectl.c is pure: no HTTP'
never_includes src/incident.c 'clients/slack.h' 'the recovered message is message.c'
never_includes src/manager.c 'clients/k8s.h' 'manager.c is pure: no API calls'

echo "1..$n"
exit $bad
