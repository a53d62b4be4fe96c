/* Domain XML from any client (src/libvirt/domxml.c): arbitrary bytes are parsed; whatever parses
 * is formatted, and the formatted text must parse again to the same configuration (field by
 * field, tests/unit/domxml_compare.h) and format to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/domxml.h"
#include "../unit/domxml_compare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domain_config a, b;
	char err[512], what[128];

	if (domxml_parse((const char *)data, size, &a, err, sizeof(err)))
		return 0;
	char *first = domxml_format(&a, NULL, err, sizeof(err));
	if (!first) {
		/* Only text XML cannot carry may be refused, and parsing never yields that. */
		fprintf(stderr, "format failed after a parse: %s\n", err);
		abort();
	}
	if (domxml_parse(first, strlen(first), &b, err, sizeof(err))) {
		fprintf(stderr, "the formatted XML does not parse: %s\n%s", err, first);
		abort();
	}
	if (!domxml_config_equal(&a, &b, what, sizeof(what))) {
		fprintf(stderr, "parse -> format -> parse differs in %s\n%s", what, first);
		abort();
	}
	char *second = domxml_format(&b, NULL, err, sizeof(err));
	if (!second || strcmp(first, second)) {
		fprintf(stderr, "format -> parse -> format differs\n%s---\n%s", first,
			second ? second : err);
		abort();
	}
	free(second);
	free(first);
	domain_config_free(&b);
	domain_config_free(&a);
	return 0;
}
