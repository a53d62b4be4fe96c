#!/bin/bash
# bench/xenstored-density.sh: xenstored at N introduced domains (issue 16).  For each N in DOMAINS,
# xenstored's core runs in one process (tests/unit/test_xs_density.c with XS_DENSITY_N): each
# domain gets a libxl-like home (~45 nodes with its vif backend, as bench/xenstored-persist.sh
# writes), a ring on a memfd introduced for real (eventfds for kick and notify), the frontend's
# watch set from the ring and the backend's from a VMM connection; a toolstack connection watches
# @introduceDomain and @releaseDomain.  Prints memory per domain (RSS and malloc'd heap), the
# cost of INTRODUCE and RELEASE with their special watches firing, a write firing a watch, one
# firing none, and an idle commit round.  No timings asserted; no /dev/kvm needed.
# Environment: DOMAINS ("10 100 1000"), BUILD (build/release).
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOMAINS=${DOMAINS:-10 100 1000}
BUILD=${BUILD:-build/release}
[[ $DOMAINS =~ ^[0-9]+( [0-9]+)*$ ]] || { echo "DOMAINS: numbers separated by spaces" >&2; exit 2; }
make -C "$ROOT" -s BUILD="$BUILD" "$BUILD/tests/test_xs_density" >&2
echo "xenstored density (in-process core, persistence off), $(date -u +%F)"
XS_DENSITY_N="$DOMAINS" timeout 1800 "$ROOT/$BUILD/tests/test_xs_density" 2>/dev/null
