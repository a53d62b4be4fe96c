/* The load client of bench/xenstore.sh: N round trips of one kind over xenstored's socket,
 * printing "kind requests/s mean_us p99_us".  Uses src/lib/xs_client (blocking, one request in
 * flight), so the figures are latency-bound, as a toolstack's would be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/xs_client.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	char err[256], path[256], token[64];

	if (argc != 4) {
		fprintf(stderr, "usage: xs_load SOCKET read|write|watch COUNT\n");
		return 2;
	}
	const char *kind = argv[2];
	int n = atoi(argv[3]);
	struct xs_client *a = xs_open_path(argv[1], err, sizeof(err));
	struct xs_client *w = xs_open_path(argv[1], err, sizeof(err));
	double *lat = calloc((size_t)n, sizeof(*lat));
	if (!a || !w || !lat || n <= 0) {
		fprintf(stderr, "xs_load: %s\n", err);
		return 1;
	}
	xs_write_str(a, 0, "/bench/key", "0123456789abcdef");
	if (!strcmp(kind, "watch")) {
		xs_watch(w, "/bench/watched", "t");
		xs_wait_event(w, 1000, path, sizeof(path), token, sizeof(token));   /* the initial one */
	}
	double start = now_us();
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		int r;
		if (!strcmp(kind, "read")) {
			char *v;
			r = xs_read(a, 0, "/bench/key", &v, NULL);
			if (!r)
				free(v);
		} else if (!strcmp(kind, "write")) {
			r = xs_write_str(a, 0, "/bench/key", "0123456789abcdef");
		} else {
			/* write → the watcher's event: what a backend waiting on a frontend sees */
			r = xs_write_str(a, 0, "/bench/watched", "x");
			if (!r)
				r = xs_wait_event(w, 1000, path, sizeof(path), token, sizeof(token));
		}
		if (r) {
			fprintf(stderr, "xs_load: %s #%d: %s\n", kind, i, strerror(-r));
			return 1;
		}
		lat[i] = now_us() - t0;
	}
	double total = now_us() - start, sum = 0;
	for (int i = 0; i < n; i++)
		sum += lat[i];
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("%-12s %10.0f %10.1f %10.1f\n", kind, n / (total / 1e6), sum / n,
	       lat[(size_t)(n * 0.99) < (size_t)n ? (size_t)(n * 0.99) : (size_t)n - 1]);
	xs_close(a);
	xs_close(w);
	free(lat);
	return 0;
}
