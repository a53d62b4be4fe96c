/* The RTC/CMOS model (hw/rtc_cmos.c) on a fake domain, through ports 0x70/0x71 as a vCPU reaches
 * them: the time is the host's clock (plus the configured offset, in local time when asked) in BCD
 * and binary, 24 h and 12 h; SET freezes it and the time set runs on from there; register C
 * clears on read; update, alarm and periodic interrupts reach IRQ 8 only when enabled (the main
 * loop's timer driven by hand: a fake domain has no loop); the NVRAM holds the memory sizes,
 * CPUs and boot order SeaBIOS reads, checksummed; save/restore round trips and refuses garbage. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hw/hvm_config.h"
#include "hw/rtc_cmos.h"
#include "fake_domain.h"
#include "fake_pc.h"
#include "unit.h"

enum { SEC = 0, SEC_ALARM = 1, MIN = 2, MIN_ALARM = 3, HOUR = 4, HOUR_ALARM = 5, WDAY = 6, MDAY = 7,
       MONTH = 8, YEAR = 9, RA = 0x0a, RB = 0x0b, RC = 0x0c, RD = 0x0d, CENTURY = 0x32 };

struct rig {
	struct domain *dom;
	struct hvm_config hvm;
	struct irq_watch irq;
	void *rtc;
};

static void rig_start(struct unit *u, struct rig *g)
{
	char err[256] = "";

	g->dom->hvm = &g->hvm;
	irq_watch_install(g->dom, &g->irq);
	CHECK(!rtc_cmos_device.init(g->dom, &g->rtc, err, sizeof(err)), "init: %s", err);
}

static void rig_new(struct unit *u, struct rig *g, void (*configure)(struct rig *g))
{
	memset(g, 0, sizeof(*g));
	g->dom = fake_domain_new(2);
	hvm_config_init(&g->hvm);
	if (configure)
		configure(g);
	rig_start(u, g);
}

static void rig_end(struct rig *g)
{
	if (g->rtc)
		rtc_cmos_device.teardown(g->dom, g->rtc);
	fake_domain_free(g->dom);
}

static uint8_t rd(struct rig *g, uint8_t reg)
{
	pio_out8(g->dom, RTC_INDEX_PORT, reg);
	return pio_in8(g->dom, RTC_DATA_PORT);
}

static void wr(struct rig *g, uint8_t reg, uint8_t v)
{
	pio_out8(g->dom, RTC_INDEX_PORT, reg);
	pio_out8(g->dom, RTC_DATA_PORT, v);
}

static unsigned int bcd(unsigned int v) { return (v / 10) << 4 | v % 10; }

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };
	nanosleep(&ts, NULL);
}

/* The clock's registers, read within one second of the host's (retried across a boundary). */
struct reading { uint8_t sec, min, hour, wday, mday, month, year, century; struct tm want; };

static void read_clock(struct rig *g, struct reading *r, int64_t offset, bool local)
{
	for (int tries = 0; tries < 3; tries++) {
		time_t before = time(NULL);
		r->sec = rd(g, SEC); r->min = rd(g, MIN); r->hour = rd(g, HOUR); r->wday = rd(g, WDAY);
		r->mday = rd(g, MDAY); r->month = rd(g, MONTH); r->year = rd(g, YEAR); r->century = rd(g, CENTURY);
		time_t after = time(NULL);
		if (before != after)
			continue;
		time_t t = before + offset;
		if (local)
			localtime_r(&t, &r->want);
		else
			gmtime_r(&t, &r->want);
		return;
	}
}

static void check_clock(struct unit *u, const struct reading *r, unsigned int (*enc)(unsigned int))
{
	const struct tm *w = &r->want;
	unsigned int year = (unsigned int)w->tm_year + 1900;

	CHECK_INT(r->sec, enc((unsigned int)w->tm_sec));
	CHECK_INT(r->min, enc((unsigned int)w->tm_min));
	CHECK_INT(r->hour, enc((unsigned int)w->tm_hour));
	CHECK_INT(r->wday, enc((unsigned int)w->tm_wday + 1));
	CHECK_INT(r->mday, enc((unsigned int)w->tm_mday));
	CHECK_INT(r->month, enc((unsigned int)w->tm_mon + 1));
	CHECK_INT(r->year, enc(year % 100));
	CHECK_INT(r->century, enc(year / 100));
}

static unsigned int binary(unsigned int v) { return v; }

static void test_time_bcd(struct unit *u, const void *arg)
{
	struct rig g;
	struct reading r;

	(void)arg;
	rig_new(u, &g, NULL);
	CHECK_INT(rd(&g, RB), 0x02);           /* 24 h, BCD */
	CHECK_INT(rd(&g, RD), 0x80);
	CHECK_INT(rd(&g, RA) & 0x7f, 0x26);
	read_clock(&g, &r, 0, false);
	check_clock(u, &r, bcd);
	rig_end(&g);
}

static void test_time_binary(struct unit *u, const void *arg)
{
	struct rig g;
	struct reading r;

	(void)arg;
	rig_new(u, &g, NULL);
	wr(&g, RB, 0x06);
	read_clock(&g, &r, 0, false);
	check_clock(u, &r, binary);
	rig_end(&g);
}

static void offset_one_year(struct rig *g) { g->hvm.rtc_offset = 366 * 86400 + 3600; }

static void test_time_offset(struct unit *u, const void *arg)
{
	struct rig g;
	struct reading r;

	(void)arg;
	rig_new(u, &g, offset_one_year);
	read_clock(&g, &r, 366 * 86400 + 3600, false);
	check_clock(u, &r, bcd);
	rig_end(&g);
}

static void local(struct rig *g) { g->hvm.rtc_localtime = true; }

static void test_time_localtime(struct unit *u, const void *arg)
{
	struct rig g;
	struct reading r;
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;

	(void)arg;
	setenv("TZ", "XEN-5:30", 1);       /* five and a half hours east of UTC */
	tzset();
	rig_new(u, &g, local);
	read_clock(&g, &r, 0, true);
	check_clock(u, &r, bcd);
	rig_end(&g);
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

static void test_time_12h(struct unit *u, const void *arg)
{
	struct rig g;
	struct reading r;

	(void)arg;
	rig_new(u, &g, NULL);
	wr(&g, RB, 0x00);                       /* 12 h, BCD */
	read_clock(&g, &r, 0, false);
	unsigned int h = (unsigned int)r.want.tm_hour;
	unsigned int want = bcd(h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
	CHECK_INT(r.hour, want);
	/* Set 11 PM in 12 h binary and read it back as 23 in 24 h mode. */
	wr(&g, RB, 0x04);
	wr(&g, RB, 0x84);
	wr(&g, HOUR, 0x80 | 11);
	wr(&g, MIN, 0);
	wr(&g, SEC, 0);
	wr(&g, RB, 0x04);
	wr(&g, RB, 0x06);
	CHECK_INT(rd(&g, HOUR), 23);
	/* Midnight in 12 h is 12 AM. */
	wr(&g, RB, 0x86);
	wr(&g, HOUR, 0);
	wr(&g, MIN, 0);
	wr(&g, RB, 0x06);
	wr(&g, RB, 0x04);
	CHECK_INT(rd(&g, HOUR), 12);
	rig_end(&g);
}

/* 2001-02-03 04:05:06 in BCD with SET, then frozen for a second. */
static void set_clock(struct rig *g, uint8_t hour, uint8_t min, uint8_t sec)
{
	wr(g, RB, 0x82);
	wr(g, SEC, sec); wr(g, MIN, min); wr(g, HOUR, hour);
	wr(g, MDAY, 0x03); wr(g, MONTH, 0x02); wr(g, YEAR, 0x01); wr(g, CENTURY, 0x20);
}

static void test_set_freezes(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g, NULL);
	set_clock(&g, 0x04, 0x05, 0x06);
	CHECK_INT(rd(&g, SEC), 0x06);
	sleep_ms(1100);
	CHECK_INT(rd(&g, SEC), 0x06);
	CHECK_INT(rd(&g, HOUR), 0x04);
	CHECK_INT(rd(&g, RA) & 0x80, 0);        /* no update in progress while set */
	CHECK_INT(rd(&g, RC) & 0x10, 0);        /* nor any update-ended */
	wr(&g, RB, 0x02);                       /* run again from 04:05:06 */
	uint8_t s = rd(&g, SEC);
	CHECK(s == 0x06 || s == 0x07, "seconds %#x right after the clock runs again from 06", s);
	CHECK_INT(rd(&g, MIN), 0x05);
	CHECK_INT(rd(&g, MDAY), 0x03);
	CHECK_INT(rd(&g, MONTH), 0x02);
	CHECK_INT(rd(&g, YEAR), 0x01);
	CHECK_INT(rd(&g, CENTURY), 0x20);
	CHECK_INT(rd(&g, WDAY), 0x07);          /* 2001-02-03 was a Saturday */
	/* A write to a running clock's register moves the time too. */
	wr(&g, YEAR, 0x02);
	CHECK_INT(rd(&g, YEAR), 0x02);
	CHECK_INT(rd(&g, MONTH), 0x02);
	rig_end(&g);
}

static void test_register_c_clears(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g, NULL);
	rd(&g, RC);
	sleep_ms(1050);
	uint8_t c = rd(&g, RC);
	CHECK_INT(c & 0x10, 0x10);              /* a second passed: update-ended */
	CHECK_INT(c & 0x80, 0);                 /* nothing enabled: no IRQF */
	CHECK_INT(rd(&g, RC) & 0x30, 0);        /* read clears (PF may come back at 1024 Hz) */
	CHECK_INT(g.irq.rises[RTC_IRQ], 0);
	rig_end(&g);
}

/* Alarm at 12:00:59 while the clock runs from 12:00:58; wait for it. */
static uint8_t alarm_run(struct rig *g, uint8_t enables)
{
	set_clock(g, 0x12, 0x00, 0x58);
	wr(g, SEC_ALARM, 0x59);
	wr(g, MIN_ALARM, 0xc0);                 /* any minute */
	wr(g, HOUR_ALARM, 0x12);
	wr(g, RB, 0x02 | enables);
	rd(g, RC);
	sleep_ms(1100);
	rtc_cmos_tick(g->rtc);
	return g->irq.level[RTC_IRQ];
}

static void test_interrupts_enabled(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g, NULL);
	CHECK(alarm_run(&g, 0x30), "AIE|UIE: IRQ 8 not raised after the alarm second");
	CHECK_INT(g.irq.rises[RTC_IRQ], 1);
	uint8_t c = rd(&g, RC);
	CHECK_INT(c & 0xb0, 0xb0);              /* IRQF, AF, UF */
	CHECK(!g.irq.level[RTC_IRQ], "IRQ 8 still high after C was read");
	/* Only the update interrupt enabled: the alarm flag alone does not raise IRQF. */
	wr(&g, RB, 0x82);
	wr(&g, RB, 0x22);                       /* AIE only; nothing matches in the next ms */
	rtc_cmos_tick(g.rtc);
	CHECK(!g.irq.level[RTC_IRQ], "IRQ 8 raised with no alarm due");
	/* Periodic at 1024 Hz. */
	wr(&g, RB, 0x02);
	rd(&g, RC);
	wr(&g, RA, 0x26);
	wr(&g, RB, 0x42);
	sleep_ms(5);
	rtc_cmos_tick(g.rtc);
	CHECK(g.irq.level[RTC_IRQ], "PIE: IRQ 8 not raised after 5 ms at 1024 Hz");
	c = rd(&g, RC);
	CHECK_INT(c & 0xc0, 0xc0);
	CHECK(!g.irq.level[RTC_IRQ], "IRQ 8 still high after C was read");
	/* Enabling an interrupt whose flag is already up raises the line at once. */
	wr(&g, RB, 0x02);
	sleep_ms(3);
	wr(&g, RB, 0x42);
	CHECK(g.irq.level[RTC_IRQ], "PIE enabled with PF pending: no IRQ");
	rig_end(&g);
}

static void test_interrupts_disabled(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g, NULL);
	CHECK(!alarm_run(&g, 0), "IRQ 8 raised with no interrupt enabled");
	CHECK_INT(g.irq.rises[RTC_IRQ], 0);
	uint8_t c = rd(&g, RC);
	CHECK_INT(c & 0xb0, 0x30);              /* AF and UF seen, no IRQF */
	wr(&g, RA, 0x23);
	sleep_ms(3);
	rtc_cmos_tick(g.rtc);
	CHECK_INT(g.irq.rises[RTC_IRQ], 0);
	CHECK_INT(rd(&g, RC) & 0xc0, 0x40);     /* PF without PIE: flag, no IRQF */
	rig_end(&g);
}

/* ---- NVRAM ---- */

struct memory_case {
	const char *name;
	uint64_t ram, low;
	uint16_t ext_kib, above_16m;
	uint32_t above_4g;
};

static const struct memory_case memory_cases[] = {
	{ "64 MiB", 64ull << 20, 64ull << 20, 63 * 1024, 48 * 16, 0 },
	{ "3 GiB", 3ull << 30, 3ull << 30, 0xffff, (3072 - 16) * 16, 0 },
	{ "6 GiB (a 1 GiB hole below 4 GiB)", 6ull << 30, 0xc0000000ull, 0xffff, (3072 - 16) * 16, 3u << 14 },
};

static void test_nvram_memory(struct unit *u, const void *arg)
{
	const struct memory_case *m = arg;
	struct rig g;

	memset(&g, 0, sizeof(g));
	g.dom = fake_domain_new(4);
	hvm_config_init(&g.hvm);
	/* Only the sizes matter to the NVRAM: the fake RAM behind them stays 8 MiB. */
	uint64_t ram_size = g.dom->vm.ram_size, low = g.dom->vm.low_ram_size;
	g.dom->vm.ram_size = g.dom->vm.populated_size = m->ram;
	g.dom->vm.low_ram_size = m->low;
	rig_start(u, &g);
	g.dom->vm.ram_size = ram_size;
	g.dom->vm.low_ram_size = low;
	g.dom->vm.populated_size = 0;

	CHECK_INT(rd(&g, 0x15) | rd(&g, 0x16) << 8, 640);
	CHECK_INT(rd(&g, 0x17) | rd(&g, 0x18) << 8, m->ext_kib);
	CHECK_INT(rd(&g, 0x30) | rd(&g, 0x31) << 8, m->ext_kib);
	CHECK_INT(rd(&g, 0x34) | rd(&g, 0x35) << 8, m->above_16m);
	CHECK_INT(rd(&g, 0x5b) | rd(&g, 0x5c) << 8 | rd(&g, 0x5d) << 16, m->above_4g);
	CHECK_INT(rd(&g, 0x5f), 3);             /* four vCPUs */
	CHECK_INT(rd(&g, 0x10), 0);             /* no floppy */
	CHECK_INT(rd(&g, 0x14) & 0x05, 0);      /* no floppy, no PS/2 mouse */
	unsigned int sum = 0;
	for (uint8_t i = 0x10; i <= 0x2d; i++)
		sum += rd(&g, i);
	CHECK_INT(rd(&g, 0x2e) << 8 | rd(&g, 0x2f), sum);
	rig_end(&g);
}

struct boot_case { const char *boot; uint8_t b3d, b38; };

static const struct boot_case boot_cases[] = {
	{ "dc", 0x23, 0x01 },
	{ "n", 0x04, 0x01 },
	{ "cdn", 0x32, 0x41 },
};

static void test_nvram_boot(struct unit *u, const void *arg)
{
	const struct boot_case *b = arg;
	struct rig g;
	char err[256] = "";

	memset(&g, 0, sizeof(g));
	g.dom = fake_domain_new(1);
	hvm_config_init(&g.hvm);
	CHECK(!hvm_config_option(&g.hvm, "boot", b->boot, err, sizeof(err)), "--boot %s: %s", b->boot, err);
	g.hvm.ide[0].kind = HVM_DRIVE_DISK;
	rig_start(u, &g);
	CHECK_INT(rd(&g, 0x3d), b->b3d);
	CHECK_INT(rd(&g, 0x38), b->b38);
	CHECK_INT(rd(&g, 0x5f), 0);
	CHECK_INT(rd(&g, 0x12), 0xf0);          /* a disk on the primary master */
	CHECK_INT(rd(&g, 0x19), 47);
	rig_end(&g);
}

/* ---- save and restore ---- */

static void test_save_restore(struct unit *u, const void *arg)
{
	struct rig a, b;
	uint8_t buf[512];
	char err[256] = "";

	(void)arg;
	rig_new(u, &a, NULL);
	set_clock(&a, 0x04, 0x05, 0x06);
	wr(&a, RB, 0x02);                       /* running from 2001-02-03 04:05:06 */
	wr(&a, RA, 0x2a);
	wr(&a, SEC_ALARM, 0x30);
	wr(&a, 0x40, 0x5a);                     /* an NVRAM byte the guest keeps */
	long n = rtc_cmos_device.save(a.dom, a.rtc, buf, sizeof(buf));
	CHECK_INT(n, RTC_SAVED_SIZE);
	CHECK_INT(rtc_cmos_device.save(a.dom, a.rtc, buf, 10), -1);
	rig_end(&a);

	rig_new(u, &b, NULL);
	CHECK(!rtc_cmos_device.restore(b.dom, b.rtc, buf, (size_t)n, err, sizeof(err)), "restore: %s", err);
	CHECK_INT(rd(&b, YEAR), 0x01);
	CHECK_INT(rd(&b, MDAY), 0x03);
	CHECK_INT(rd(&b, HOUR), 0x04);
	CHECK_INT(rd(&b, MIN), 0x05);
	CHECK_INT(rd(&b, RA) & 0x7f, 0x2a);
	CHECK_INT(rd(&b, SEC_ALARM), 0x30);
	CHECK_INT(rd(&b, 0x40), 0x5a);

	/* Garbage. */
	static const struct { unsigned int at; uint8_t value; const char *what; } bad[] = {
		{ 0, 2, "version" },
		{ 2 + RD, 0x00, "register D" },
		{ 2 + RC, 0x01, "register C's low bits" },
		{ 2 + RC, 0x80, "IRQF with no flag" },
		{ 2 + RA, 0xaa, "UIP saved" },
		{ 2 + 128 + 7, 0x7f, "delta seconds" },
		{ 2 + 128 + 8 + 3, 0x80, "delta nanoseconds" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t copy[RTC_SAVED_SIZE];
		memcpy(copy, buf, sizeof(copy));
		copy[bad[i].at] = bad[i].value;
		err[0] = 0;
		CHECK(rtc_cmos_device.restore(b.dom, b.rtc, copy, sizeof(copy), err, sizeof(err)) == -1 && err[0],
		      "a state with a bad %s was taken", bad[i].what);
	}
	CHECK(rtc_cmos_device.restore(b.dom, b.rtc, buf, (size_t)n - 1, err, sizeof(err)) == -1,
	      "a short state was taken");
	CHECK(rtc_cmos_device.restore(b.dom, b.rtc, buf, 0, err, sizeof(err)) == -1, "an empty state was taken");
	CHECK_INT(rd(&b, 0x40), 0x5a);          /* refusals changed nothing */
	rig_end(&b);
}

/* The index port: NMI-disable bit ignored for the register, reads as all ones. */
static void test_index_port(struct unit *u, const void *arg)
{
	struct rig g;

	(void)arg;
	rig_new(u, &g, NULL);
	CHECK_INT(pio_in8(g.dom, RTC_INDEX_PORT), 0xff);
	pio_out8(g.dom, RTC_INDEX_PORT, 0x80 | RD);
	CHECK_INT(pio_in8(g.dom, RTC_DATA_PORT), 0x80);
	pio_out8(g.dom, RTC_INDEX_PORT, 0x80 | 0x7f);
	pio_out8(g.dom, RTC_DATA_PORT, 0x33);
	CHECK_INT(rd(&g, 0x7f), 0x33);
	wr(&g, RD, 0x00);                       /* read-only */
	CHECK_INT(rd(&g, RD), 0x80);
	pio_out(g.dom, RTC_INDEX_PORT, 2, 0x44 << 8 | 0x7e);  /* a word: register, then its data */
	CHECK_INT(rd(&g, 0x7e), 0x44);
	pio_out8(g.dom, RTC_INDEX_PORT, RD);
	CHECK_INT(pio_in(g.dom, RTC_INDEX_PORT, 2), 0x80ff);
	rig_end(&g);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "rtc: time in BCD, 24 h", test_time_bcd, NULL);
	unit_case(&u, "rtc: time in binary", test_time_binary, NULL);
	unit_case(&u, "rtc: time with rtc_timeoffset", test_time_offset, NULL);
	unit_case(&u, "rtc: localtime", test_time_localtime, NULL);
	unit_case(&u, "rtc: 12 h mode", test_time_12h, NULL);
	unit_case(&u, "rtc: SET freezes, the clock runs on from what was set", test_set_freezes, NULL);
	unit_case(&u, "rtc: register C clears on read", test_register_c_clears, NULL);
	unit_case(&u, "rtc: alarm, update, periodic interrupts when enabled", test_interrupts_enabled, NULL);
	unit_case(&u, "rtc: flags but no interrupt when disabled", test_interrupts_disabled, NULL);
	for (size_t i = 0; i < sizeof(memory_cases) / sizeof(memory_cases[0]); i++) {
		char name[96];
		snprintf(name, sizeof(name), "cmos: memory of a %s domain, checksum", memory_cases[i].name);
		unit_case(&u, name, test_nvram_memory, &memory_cases[i]);
	}
	for (size_t i = 0; i < sizeof(boot_cases) / sizeof(boot_cases[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "cmos: boot order \"%s\"", boot_cases[i].boot);
		unit_case(&u, name, test_nvram_boot, &boot_cases[i]);
	}
	unit_case(&u, "rtc: save/restore round trip, garbage refused", test_save_restore, NULL);
	unit_case(&u, "rtc: index port, NMI bit, word accesses", test_index_port, NULL);
	return unit_finish(&u);
}
