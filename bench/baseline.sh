#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The reference: what the hand-written deploy workflow did before atom-safety, as bash + curl +
# jq + kubectl (the "Deployment Safety Hardening" plan: wait for /health, check /health/db, log in
# as the smoke-test user, pull the token out with jq, call each authenticated endpoint in turn,
# and `kubectl rollout undo` when anything failed). bench/run times it against atom-safety.
# Kept deliberately as the workflow had it: one curl process per request, one endpoint after
# the other, a fixed sleep between readiness polls, a new TCP connection for every request.
#
# Environment (the workflow's secrets and vars):
#   URL                    base URL of the service (required)
#   SMOKE_TEST_USERNAME    smoke-test user (required)
#   SMOKE_TEST_PASSWORD    its password (required)
#   ENDPOINTS              authenticated requests, one "METHOD PATH" per line
#   HEALTH_RETRIES         readiness polls before giving up (30)
#   HEALTH_INTERVAL        seconds between readiness polls (10)
#   PROMETHEUS_URL         optional; empty skips the error-rate check, as the workflow did
#   MAX_ERROR_RATE         error-rate threshold as a fraction (0.01: staging)
#   ROLLBACK               true: roll back on failure (true)
#   KUBECTL                kubectl binary (kubectl)
#   KUBECONFIG             kubeconfig file for kubectl
#   DEPLOYMENT, NAMESPACE  what to roll back (atom, default)
#   ROLLOUT_TIMEOUT        `kubectl rollout status --timeout` after the undo (5m)
#
# Exit: 0 every check passed; 1 a check failed (after the rollback, when enabled).
#
# In the workflow the checks were one step under GitHub's default `bash -eo pipefail` and the
# rollback an `if: failure()` step after it; here the checks run in a subshell with `set -e`,
# so the first failing command ends them exactly as it ended the step.

set -u -o pipefail

: "${URL:?URL is required}"
: "${SMOKE_TEST_USERNAME:?SMOKE_TEST_USERNAME is required}"
: "${SMOKE_TEST_PASSWORD:?SMOKE_TEST_PASSWORD is required}"
ENDPOINTS=${ENDPOINTS:-}
HEALTH_RETRIES=${HEALTH_RETRIES:-30}
HEALTH_INTERVAL=${HEALTH_INTERVAL:-10}
PROMETHEUS_URL=${PROMETHEUS_URL:-}
MAX_ERROR_RATE=${MAX_ERROR_RATE:-0.01}
ROLLBACK=${ROLLBACK:-true}
KUBECTL=${KUBECTL:-kubectl}
DEPLOYMENT=${DEPLOYMENT:-atom}
NAMESPACE=${NAMESPACE:-default}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-5m}

smoke_tests() (
	set -e

	# step "Wait for deployment": poll /health, sleeping a fixed interval between tries
	echo "Waiting for $URL/health"
	ready=false
	for i in $(seq 1 "$HEALTH_RETRIES"); do
		if curl -f -s -o /dev/null --max-time 10 "$URL/health"; then
			ready=true
			break
		fi
		echo "  not ready yet (attempt $i of $HEALTH_RETRIES), sleeping ${HEALTH_INTERVAL}s"
		sleep "$HEALTH_INTERVAL"
	done
	if [ "$ready" != true ]; then
		echo "FAIL health: not healthy after $HEALTH_RETRIES attempts"
		exit 1
	fi
	echo "PASS health"

	# step "Database connectivity": /health/db must answer 2xx with status ok
	db=$(curl -f -s --max-time 10 "$URL/health/db")
	echo "$db" | jq .
	if [ "$(echo "$db" | jq -r '.status')" != "ok" ]; then
		echo "FAIL database: $(echo "$db" | jq -c .)"
		exit 1
	fi
	echo "PASS database"

	# step "Authenticate": log in as the smoke-test user, extract the token with jq
	TOKEN=$(curl -s --max-time 10 -X POST "$URL/api/auth/login" \
		-H "Content-Type: application/json" \
		-d "{\"username\":\"$SMOKE_TEST_USERNAME\",\"password\":\"$SMOKE_TEST_PASSWORD\"}" |
		jq -r '.access_token')
	if [ -z "$TOKEN" ] || [ "$TOKEN" = "null" ]; then
		echo "FAIL login: no access token"
		exit 1
	fi
	echo "PASS login"

	# step "Authenticated smoke tests": each endpoint in turn
	while read -r method path _; do
		case "$method" in
		"" | \#*) continue ;;
		esac
		status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X "$method" \
			-H "Authorization: Bearer $TOKEN" "$URL$path")
		case "$status" in
		2??) echo "PASS $method $path ($status)" ;;
		*)
			echo "FAIL $method $path: HTTP $status"
			exit 1
			;;
		esac
	done <<<"$ENDPOINTS"

	# step "Check error rate": skipped when PROMETHEUS_URL is not set (does not fail the deploy)
	if [ -n "$PROMETHEUS_URL" ]; then
		rate=$(curl -f -s --max-time 10 "$PROMETHEUS_URL/api/v1/query" \
			--data-urlencode 'query=sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))' |
			jq -r '.data.result[0].value[1] // "0"')
		if awk -v r="$rate" -v m="$MAX_ERROR_RATE" 'BEGIN { exit !(r + 0 > m + 0) }'; then
			echo "FAIL error-rate: $rate > $MAX_ERROR_RATE"
			exit 1
		fi
		echo "PASS error-rate ($rate)"
	else
		echo "SKIP error-rate: PROMETHEUS_URL not set"
	fi
)

if smoke_tests; then
	echo "Smoke tests passed"
	exit 0
fi

# step "Rollback on failure" (if: failure())
echo "Smoke tests failed"
if [ "$ROLLBACK" = true ]; then
	echo "Rolling back deployment/$DEPLOYMENT"
	"$KUBECTL" rollout undo "deployment/$DEPLOYMENT" -n "$NAMESPACE"
	"$KUBECTL" rollout status "deployment/$DEPLOYMENT" -n "$NAMESPACE" --timeout="$ROLLOUT_TIMEOUT"
fi
exit 1
