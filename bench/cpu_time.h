/* bench/cpu_time.h: a bench helper's own CPU time (for bench/net.sh's CPU per packet). */
#ifndef BENCH_CPU_TIME_H
#define BENCH_CPU_TIME_H

#include <sys/resource.h>

/* User + system CPU time of this process, every thread, in µs (0 if getrusage fails). */
static inline unsigned long long cpu_time_us(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ull +
	       (unsigned long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

#endif
