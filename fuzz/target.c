/*
 * target.c: the libFuzzer entry point, compiled once per parser by
 * build.sh with -DPX_PROBE=PROBE_QUERY (or _COOKIE, _MULTIPART, _JSON,
 * _TEMPLATE, _UTF8).  The work is in src/parse_probe.c, which the
 * hidden `1000proxy test-parse` command runs too.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "parse_probe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	(void)probe_run(PX_PROBE, data, n);
	return 0;
}
