/* libFuzzer target: the exporter's text parsers — exporter.conf, clean-take sidecar JSON and the
 * spool's take state files. Each must reject junk with a reason and never crash. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/takemeta.h"
#include "config.h"
#include "take.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct exporter_config c;
	struct ghostrec_takemeta m;
	struct take t;
	char err[512];

	exporter_config_defaults(&c);
	if (exporter_config_parse_text(&c, (const char *)data, size, err, sizeof(err)) < 0 && !err[0])
		__builtin_trap(); /* an error always comes with a reason */
	err[0] = '\0';
	if (ghostrec_takemeta_from_json((const char *)data, size, &m, err, sizeof(err)) < 0 && !err[0])
		__builtin_trap();
	ghostrec_takemeta_clear(&m);
	err[0] = '\0';
	if (take_from_json(&t, (const char *)data, size, err, sizeof(err)) < 0 && !err[0])
		__builtin_trap();
	return 0;
}
