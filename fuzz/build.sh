#!/bin/sh
# build.sh: build the libFuzzer targets (one per parser) into $OUT
# (default fuzz/out), with ASan and UBSan, straight from src/.
#
#   fuzz/build.sh                 build every target
#   fuzz/build.sh run [SECONDS]   build, then run each target for SECONDS
#                                 (default 60) over its corpus; crashes
#                                 land in $OUT/artifacts/
# Needs clang with libFuzzer (Debian: clang, libclang-rt-14-dev) and the
# -dev packages the program builds with.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../src
OUT=${OUT:-$here/out}
CC=${CC:-clang}
TARGETS="query cookie multipart json template utf8 xui nowpay stripe paypal passkey"

mkdir -p "$OUT/artifacts"
# A config.h for the few sources we compile (configure's is not needed).
printf '#define _GNU_SOURCE 1\n#define PACKAGE_VERSION "fuzz"\n' > "$OUT/config.h"
cflags="-std=c11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
-fno-omit-frame-pointer -I$OUT -I$src $(pkg-config --cflags json-c libcrypto sqlite3)"
libs="$(pkg-config --libs json-c libcrypto)"
for t in $TARGETS; do
	P=$(echo "$t" | tr a-z A-Z)
	echo "==> fuzz_$t"
	# shellcheck disable=SC2086
	$CC $cflags -DPX_PROBE=PROBE_$P -o "$OUT/fuzz_$t" "$here/target.c" \
	    "$src/parse_probe.c" "$src/request.c" "$src/view.c" "$src/util.c" \
	    "$src/xui.c" "$src/xui_client.c" "$src/json_get.c" "$src/curl_lib.c" "$src/log.c" "$src/seal.c" \
	    "$src/nowpay.c" "$src/money.c" "$src/gw_stripe.c" "$src/gw_paypal.c" "$src/pay_state.c" "$src/passkey_parse.c" "$here/stubs.c" $libs
done

[ "${1:-}" = run ] || exit 0
secs=${2:-60}
for t in $TARGETS; do
	echo "==> running fuzz_$t for ${secs}s"
	mkdir -p "$OUT/corpus/$t"
	"$OUT/fuzz_$t" -max_total_time="$secs" -max_len=4096 -timeout=5 \
	    -artifact_prefix="$OUT/artifacts/$t-" -print_final_stats=1 \
	    "$OUT/corpus/$t" "$here/corpus/$t" 2>&1 | tail -n 12
done
