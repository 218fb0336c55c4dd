/* libFuzzer target for the control protocol parser (common/control.c): any bytes must be
 * parsed or rejected without crashing, and whatever parses must build and re-parse the same. */
#include "common/control.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ghostrec_ctl_msg m, again;
	const char *code;
	char err[256];
	if (ghostrec_ctl_parse(data, size, &m, &code, err, sizeof(err)) < 0) {
		if (!code || !err[0])
			abort(); /* every rejection names its reason */
		return 0;
	}
	ghostrec_ctl_check_request(&m, &code, err, sizeof(err));
	if (m.kind == GHOSTREC_CTL_KIND_UNKNOWN)
		return 0;
	char buf[GHOSTREC_CTL_MAX_MSG * 2];
	int len = ghostrec_ctl_build(buf, sizeof(buf), &m);
	if (len < 0)
		abort();
	if (ghostrec_ctl_parse(buf, (size_t)len, &again, &code, err, sizeof(err)) < 0)
		abort();
	if (again.kind != m.kind || again.type != m.type || again.has != m.has ||
	    again.take_id != m.take_id || again.frame != m.frame || strcmp(again.node, m.node) != 0)
		abort();
	return 0;
}
