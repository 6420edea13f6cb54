#!/bin/bash
# bash, not sh: Debian's dash drops environment variables whose names are not shell
# identifiers, and the runner passes inputs as INPUT_HEALTH-PATH, INPUT_CREATE-ISSUE, ...
exec /usr/local/bin/atom-safety "$@"
