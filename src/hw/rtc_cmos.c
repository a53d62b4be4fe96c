/* The MC146818 RTC and its CMOS NVRAM (ports 0x70 index, 0x71 data; IRQ 8).
 *
 * The clock is not a counter we tick: the guest's time is the host's CLOCK_REALTIME plus the
 * config's offset (--rtc-offset; the host's zone offset too with --localtime) plus what the guest
 * set, `delta`, and every read computes it.  Setting the clock (register B's SET, or the divider
 * held in reset through register A) freezes the time registers: their values are snapshot into
 * cmos[] and reads and writes go there; when the clock runs again, delta is chosen so that the time
 * continues from what the registers then say.  A write to a time register of a running clock does
 * the same in one step.
 *
 * Register C's flags are also computed rather than ticked: `last_sec` and `last_period` remember
 * the guest second and the periodic-interrupt period the flags were last brought up to, and
 * rtc_catch_up sets UF when a second boundary passed since, AF when one of the passed seconds
 * matched the alarm, PF when a period ended.  IRQF follows flags & enables and drives IRQ 8 (held
 * until C is read, as the chip holds its IRQ pin).  The guest sees the flags on any access, so a
 * guest that polls C needs no timer; one that enables interrupts (PIE, AIE, UIE) needs something
 * to notice time passing: a one-shot timer on the VMM's main loop, armed only while an interrupt
 * is enabled, for the next second (UIE, AIE) or period (PIE; at most 1000 per second, so faster
 * rates coalesce: C has one PF bit anyway).  Timers are the main thread's, so a vCPU that enables
 * an interrupt wakes the main loop through an eventfd and the timer is armed there.  Without a
 * main loop (unit tests) there are no timers: tests call rtc_cmos_tick themselves.
 *
 * NVRAM bytes 0x0e-0x7f hold what SeaBIOS (and older OSes) read there: memory sizes, the boot
 * order, CPU count, hard disks, checksummed as a PC BIOS expects (rtc_cmos_nvram_init).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "hw/hvm_config.h"
#include "hw/irq.h"
#include "hw/rtc_cmos.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"

#define NS_PER_SEC 1000000000LL
#define CMOS_SIZE 128

/* Clock registers (index into cmos[]). */
enum {
	REG_SEC = 0x00, REG_SEC_ALARM = 0x01, REG_MIN = 0x02, REG_MIN_ALARM = 0x03, REG_HOUR = 0x04,
	REG_HOUR_ALARM = 0x05, REG_WDAY = 0x06, REG_MDAY = 0x07, REG_MONTH = 0x08, REG_YEAR = 0x09,
	REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d, REG_CENTURY = 0x32,
};
#define A_UIP 0x80
#define A_DIVIDER 0x70
#define A_DIVIDER_NORMAL 0x20           /* 32.768 kHz time base, running */
#define A_RATE 0x0f
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_BINARY 0x04                   /* DM: binary, else BCD */
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80                      /* the battery is good */
#define HOUR_PM 0x80
#define ALARM_DONT_CARE 0xc0
#define UIP_NS 244000                   /* UIP is set this long before each update */
/* Bounds that keep the arithmetic in range whatever a guest or a saved state says. */
#define DELTA_SEC_MAX (1LL << 40)
#define OFFSET_SEC_MAX (1LL << 40)

/* The registers that hold the time: snapshot while the clock is set. */
static const uint8_t time_regs[] = { REG_SEC, REG_MIN, REG_HOUR, REG_WDAY, REG_MDAY, REG_MONTH,
				     REG_YEAR, REG_CENTURY };

struct rtc {
	pthread_mutex_t lock;
	struct domain *dom;
	uint8_t index;                  /* last write to 0x70, NMI-disable bit 7 included */
	uint8_t cmos[CMOS_SIZE];
	int64_t base_sec;               /* the config's offset */
	bool localtime;
	int64_t delta_sec;              /* what the guest set, on top of the host's time and base */
	int64_t delta_nsec;             /* 0..NS_PER_SEC-1 */
	int64_t last_sec;               /* guest second the flags were brought up to */
	int64_t last_period;            /* periodic-interrupt period they were brought up to */
	bool irq_level;
	/* Main loop only (dom->loop): the kick eventfd and the armed timer. */
	int kick_fd;
	uint64_t timer_id;
};

struct rtc_time { int64_t sec, nsec; };

/* ---- the clock ---- */

static bool rtc_frozen(const struct rtc *r)
{
	return (r->cmos[REG_B] & B_SET) || (r->cmos[REG_A] & A_DIVIDER) != A_DIVIDER_NORMAL;
}

/* The guest's time now, in seconds since 1970 in the RTC's zone. */
static struct rtc_time rtc_now(const struct rtc *r)
{
	struct timespec ts;
	int64_t zone = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (r->localtime) {
		struct tm tm;
		time_t t = ts.tv_sec;
		if (localtime_r(&t, &tm))
			zone = tm.tm_gmtoff;
	}
	struct rtc_time now = { ts.tv_sec + r->base_sec + zone + r->delta_sec, ts.tv_nsec + r->delta_nsec };
	if (now.nsec >= NS_PER_SEC) {
		now.nsec -= NS_PER_SEC;
		now.sec++;
	}
	return now;
}

static uint8_t to_reg(const struct rtc *r, unsigned int v)
{
	return r->cmos[REG_B] & B_BINARY ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

static unsigned int from_reg(const struct rtc *r, uint8_t v)
{
	return r->cmos[REG_B] & B_BINARY ? v : (v >> 4) * 10u + (v & 0x0f);
}

static uint8_t hour_to_reg(const struct rtc *r, unsigned int h)
{
	if (r->cmos[REG_B] & B_24H)
		return to_reg(r, h);
	return to_reg(r, h % 12 ? h % 12 : 12) | (h >= 12 ? HOUR_PM : 0);
}

static unsigned int hour_from_reg(const struct rtc *r, uint8_t v)
{
	if (r->cmos[REG_B] & B_24H)
		return from_reg(r, v);
	return from_reg(r, v & ~HOUR_PM) % 12 + (v & HOUR_PM ? 12 : 0);
}

/* The value a time register has at guest second `sec`. */
static uint8_t time_reg_at(const struct rtc *r, unsigned int reg, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return 0;
	int64_t year = (int64_t)tm.tm_year + 1900;
	switch (reg) {
	case REG_SEC:     return to_reg(r, (unsigned int)tm.tm_sec);
	case REG_MIN:     return to_reg(r, (unsigned int)tm.tm_min);
	case REG_HOUR:    return hour_to_reg(r, (unsigned int)tm.tm_hour);
	case REG_WDAY:    return to_reg(r, (unsigned int)tm.tm_wday + 1);
	case REG_MDAY:    return to_reg(r, (unsigned int)tm.tm_mday);
	case REG_MONTH:   return to_reg(r, (unsigned int)tm.tm_mon + 1);
	case REG_YEAR:    return to_reg(r, (unsigned int)(year % 100));
	default:          return to_reg(r, (unsigned int)(year / 100 % 100));   /* REG_CENTURY */
	}
}

static bool is_time_reg(unsigned int reg)
{
	return memchr(time_regs, (int)reg, sizeof(time_regs)) != NULL;
}

static void snapshot_time(struct rtc *r, int64_t sec)
{
	for (size_t i = 0; i < sizeof(time_regs); i++)
		r->cmos[time_regs[i]] = time_reg_at(r, time_regs[i], sec);
}

/* The time the frozen registers say (any bytes: timegm normalises what is out of range). */
static int64_t snapshot_seconds(const struct rtc *r)
{
	struct tm tm = {
		.tm_sec = (int)from_reg(r, r->cmos[REG_SEC]),
		.tm_min = (int)from_reg(r, r->cmos[REG_MIN]),
		.tm_hour = (int)hour_from_reg(r, r->cmos[REG_HOUR]),
		.tm_mday = (int)from_reg(r, r->cmos[REG_MDAY]),
		.tm_mon = (int)from_reg(r, r->cmos[REG_MONTH]) - 1,
		.tm_year = (int)(from_reg(r, r->cmos[REG_CENTURY]) * 100 + from_reg(r, r->cmos[REG_YEAR])) - 1900,
	};
	return (int64_t)timegm(&tm);
}

/* The clock runs again from what the registers say, at the same sub-second phase. */
static void resume_from_snapshot(struct rtc *r)
{
	struct rtc_time now = rtc_now(r);
	int64_t delta = r->delta_sec + (snapshot_seconds(r) - now.sec);

	if (delta > DELTA_SEC_MAX)
		delta = DELTA_SEC_MAX;
	if (delta < -DELTA_SEC_MAX)
		delta = -DELTA_SEC_MAX;
	r->delta_sec = delta;
	now = rtc_now(r);
	r->last_sec = now.sec;
}

/* ---- flags and the interrupt line ---- */

static int64_t floor_mod(int64_t a, int64_t m)
{
	int64_t v = a % m;
	return v < 0 ? v + m : v;
}

static bool alarm_field_matches(uint8_t alarm, unsigned int now_value, unsigned int alarm_value)
{
	return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm_value == now_value;
}

static bool alarm_matches(const struct rtc *r, int64_t sec)
{
	int64_t day_sec = floor_mod(sec, 86400);
	uint8_t s = r->cmos[REG_SEC_ALARM], m = r->cmos[REG_MIN_ALARM], h = r->cmos[REG_HOUR_ALARM];

	return alarm_field_matches(s, (unsigned int)(day_sec % 60), from_reg(r, s)) &&
	       alarm_field_matches(m, (unsigned int)(day_sec / 60 % 60), from_reg(r, m)) &&
	       alarm_field_matches(h, (unsigned int)(day_sec / 3600), hour_from_reg(r, h));
}

/* Register A's rate as a shift of the 32.768 kHz base: the period is 2^(shift) / 32768 s; 0: off. */
static unsigned int period_shift(const struct rtc *r)
{
	unsigned int rate = r->cmos[REG_A] & A_RATE;

	if (!rate || (r->cmos[REG_A] & A_DIVIDER) != A_DIVIDER_NORMAL)
		return 0;
	if (rate <= 2)
		rate += 7;       /* rates 1 and 2 repeat 8 and 9 */
	return rate - 1;
}

static int64_t period_index(struct rtc_time now, unsigned int shift)
{
	int64_t ticks = now.sec * 32768 + now.nsec * 32768 / NS_PER_SEC;
	return ticks >> shift;
}

static void update_irq(struct rtc *r)
{
	uint8_t c = r->cmos[REG_C] & (C_PF | C_AF | C_UF);

	if (c & r->cmos[REG_B] & (B_PIE | B_AIE | B_UIE))
		c |= C_IRQF;
	r->cmos[REG_C] = c;
	bool level = c & C_IRQF;
	if (level != r->irq_level) {
		r->irq_level = level;
		hw_irq_set(r->dom, RTC_IRQ, level);
	}
}

/* Brings register C up to now (see the top of the file). */
static void rtc_catch_up(struct rtc *r)
{
	struct rtc_time now = rtc_now(r);
	unsigned int shift = period_shift(r);

	if (shift) {
		int64_t idx = period_index(now, shift);
		if (idx != r->last_period)
			r->cmos[REG_C] |= C_PF;
		r->last_period = idx;
	}
	if (rtc_frozen(r)) {
		r->last_sec = now.sec;
	} else if (now.sec > r->last_sec) {
		r->cmos[REG_C] |= C_UF;
		/* A day of seconds covers every alarm pattern. */
		int64_t first = now.sec - r->last_sec > 86400 ? now.sec - 86400 : r->last_sec + 1;
		for (int64_t s = first; s <= now.sec && !(r->cmos[REG_C] & C_AF); s++)
			if (alarm_matches(r, s))
				r->cmos[REG_C] |= C_AF;
		r->last_sec = now.sec;
	} else {
		r->last_sec = now.sec;      /* the host's clock went back: no update passed */
	}
	update_irq(r);
}

static void restart_periodic(struct rtc *r)
{
	unsigned int shift = period_shift(r);
	r->last_period = shift ? period_index(rtc_now(r), shift) : 0;
}

/* ---- the main loop's timer ---- */

static void rtc_kick(struct rtc *r)
{
	uint64_t one = 1;

	if (r->kick_fd >= 0 && write(r->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG("rtc: waking the main loop: %s", strerror(errno));
}

/* Main thread: the delay to the next event an enabled interrupt waits for, or -1 for none. */
static int next_event_ms(struct rtc *r)
{
	uint8_t b = r->cmos[REG_B];
	int64_t ns = -1;
	struct rtc_time now = rtc_now(r);

	if ((b & (B_UIE | B_AIE)) && !rtc_frozen(r))
		ns = NS_PER_SEC - now.nsec;
	unsigned int shift = period_shift(r);
	if ((b & B_PIE) && shift) {
		int64_t period = (NS_PER_SEC << shift) / 32768;
		int64_t into = (now.nsec * 32768 / NS_PER_SEC) & ((1LL << shift) - 1);
		int64_t left = period - into * NS_PER_SEC / 32768;
		if (ns < 0 || left < ns)
			ns = left;
	}
	if (ns < 0)
		return -1;
	int64_t ms = (ns + 999999) / 1000000;
	return ms < 1 ? 1 : (int)ms;
}

static void rtc_rearm(struct rtc *r)
{
	if (!r->dom->loop)
		return;
	pthread_mutex_lock(&r->lock);
	int ms = next_event_ms(r);
	pthread_mutex_unlock(&r->lock);
	event_loop_timer_cancel(r->dom->loop, r->timer_id);
	r->timer_id = 0;
	if (ms >= 0 && event_loop_timer_add(r->dom->loop, (unsigned int)ms, rtc_cmos_tick, r, &r->timer_id))
		LOG("rtc: no room for a timer: IRQ 8 waits for the guest's next read");
}

void rtc_cmos_tick(void *opaque)
{
	struct rtc *r = opaque;

	r->timer_id = 0;        /* fired */
	pthread_mutex_lock(&r->lock);
	rtc_catch_up(r);
	pthread_mutex_unlock(&r->lock);
	rtc_rearm(r);
}

static void rtc_kicked(void *opaque, uint32_t events)
{
	struct rtc *r = opaque;
	uint64_t n;

	(void)events;
	if (read(r->kick_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		LOG("rtc: reading the kick: %s", strerror(errno));
	rtc_rearm(r);
}

/* ---- the ports ---- */

static uint8_t rtc_read(struct rtc *r, unsigned int reg)
{
	uint8_t v;

	switch (reg) {
	case REG_A:
		v = r->cmos[REG_A];
		if (!rtc_frozen(r) && rtc_now(r).nsec >= NS_PER_SEC - UIP_NS)
			v |= A_UIP;
		return v;
	case REG_C:
		rtc_catch_up(r);
		v = r->cmos[REG_C];
		r->cmos[REG_C] = 0;         /* reading C clears it and releases IRQ 8 */
		update_irq(r);
		return v;
	case REG_D:
		return D_VRT;
	default:
		if (is_time_reg(reg) && !rtc_frozen(r))
			return time_reg_at(r, reg, rtc_now(r).sec);
		return r->cmos[reg];
	}
}

/* Returns whether the main loop must look at the timer again. */
static bool rtc_write(struct rtc *r, unsigned int reg, uint8_t v)
{
	bool was_frozen = rtc_frozen(r);
	uint8_t old_a = r->cmos[REG_A], old_b = r->cmos[REG_B];

	switch (reg) {
	case REG_A:
		rtc_catch_up(r);
		r->cmos[REG_A] = v & ~A_UIP;
		break;
	case REG_B:
		rtc_catch_up(r);
		if (v & B_SET)
			v &= ~B_UIE;            /* setting the clock stops update interrupts */
		r->cmos[REG_B] = v;
		break;
	case REG_C:
	case REG_D:
		return false;                  /* read-only */
	default:
		if (is_time_reg(reg) && !was_frozen) {
			snapshot_time(r, rtc_now(r).sec);
			r->cmos[reg] = v;
			resume_from_snapshot(r);
			return false;
		}
		r->cmos[reg] = v;
		return false;
	}
	bool frozen = rtc_frozen(r);
	if (frozen && !was_frozen) {
		/* The registers as they were formatted before this write. */
		uint8_t new_b = r->cmos[REG_B];
		r->cmos[REG_B] = old_b;
		snapshot_time(r, rtc_now(r).sec);
		r->cmos[REG_B] = new_b;
	} else if (!frozen && was_frozen) {
		resume_from_snapshot(r);
	}
	if ((r->cmos[REG_A] ^ old_a) & (A_RATE | A_DIVIDER))
		restart_periodic(r);
	update_irq(r);
	return (r->cmos[REG_A] ^ old_a) || ((r->cmos[REG_B] ^ old_b) & (B_SET | B_PIE | B_AIE | B_UIE));
}

static void rtc_io(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
		   unsigned int size)
{
	struct rtc *r = opaque;
	bool kick = false;

	(void)vcpu;
	pthread_mutex_lock(&r->lock);
	/* Byte by byte: a word access at 0x70 selects the register and moves its data in one. */
	for (unsigned int i = 0; i < size; i++) {
		uint64_t p = port + i;
		if (p == RTC_INDEX_PORT && is_write)
			r->index = data[i];
		else if (p == RTC_DATA_PORT && is_write)
			kick |= rtc_write(r, r->index & 0x7f, data[i]);
		else if (p == RTC_DATA_PORT)
			data[i] = rtc_read(r, r->index & 0x7f);
		else if (!is_write)
			data[i] = 0xff;         /* the index port is write-only */
	}
	pthread_mutex_unlock(&r->lock);
	if (kick)
		rtc_kick(r);
}

/* ---- NVRAM: what the firmware reads ---- */

enum {
	NV_FLOPPY = 0x10, NV_HD = 0x12, NV_EQUIPMENT = 0x14, NV_BASE_LO = 0x15, NV_BASE_HI = 0x16,
	NV_EXT_LO = 0x17, NV_EXT_HI = 0x18, NV_HD0_TYPE = 0x19, NV_HD1_TYPE = 0x1a,
	NV_CSUM_HI = 0x2e, NV_CSUM_LO = 0x2f, NV_EXT2_LO = 0x30, NV_EXT2_HI = 0x31,
	NV_MEM16M_LO = 0x34, NV_MEM16M_HI = 0x35, NV_BOOT_3RD = 0x38, NV_BOOT_1ST_2ND = 0x3d,
	NV_HIGHMEM_LO = 0x5b, NV_HIGHMEM_MID = 0x5c, NV_HIGHMEM_HI = 0x5d, NV_CPUS = 0x5f,
};
#define EQUIPMENT_FPU 0x02
#define HD_TYPE_EXTENDED 0x0f           /* a nibble of 0x12: the type is in 0x19/0x1a */
#define HD_TYPE_USER 47
#define NO_FLOPPY_SIG_CHECK 0x01
#define CHECKSUM_FIRST 0x10
#define CHECKSUM_LAST 0x2d

/* Boot order letters as the BIOS's CMOS nibbles: 1 floppy, 2 disk, 3 CD-ROM, 4 network. */
static uint8_t boot_nibble(char c)
{
	switch (c) {
	case 'a': return 1;
	case 'c': return 2;
	case 'd': return 3;
	case 'n': return 4;
	default:  return 0;
	}
}

static void put16(uint8_t *cmos, unsigned int at, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	cmos[at] = (uint8_t)v;
	cmos[at + 1] = (uint8_t)(v >> 8);
}

static void rtc_cmos_nvram_init(uint8_t *cmos, const struct domain *dom)
{
	const struct hvm_config *hvm = dom->hvm;
	uint64_t ram = vm_populated_bytes(&dom->vm);
	uint64_t low = dom->vm.low_ram_size < ram ? dom->vm.low_ram_size : ram;
	uint64_t high = ram - low;

	cmos[NV_FLOPPY] = 0;
	cmos[NV_EQUIPMENT] = EQUIPMENT_FPU;                 /* no floppy, no PS/2 mouse, VGA/EGA */
	put16(cmos, NV_BASE_LO, 640);
	uint64_t ext_kib = low > (1u << 20) ? (low - (1u << 20)) >> 10 : 0;
	put16(cmos, NV_EXT_LO, ext_kib);
	put16(cmos, NV_EXT2_LO, ext_kib);
	put16(cmos, NV_MEM16M_LO, low > (16u << 20) ? (low - (16u << 20)) >> 16 : 0);
	uint64_t high_64k = high >> 16;
	if (high_64k > 0xffffff)
		high_64k = 0xffffff;
	cmos[NV_HIGHMEM_LO] = (uint8_t)high_64k;
	cmos[NV_HIGHMEM_MID] = (uint8_t)(high_64k >> 8);
	cmos[NV_HIGHMEM_HI] = (uint8_t)(high_64k >> 16);
	cmos[NV_CPUS] = (uint8_t)(dom->n_vcpus ? (dom->n_vcpus > 256 ? 255 : dom->n_vcpus - 1) : 0);

	/* Hard disks on the primary channel, as "user type 47" drives: the firmware asks the drive
	 * itself for its geometry (ATA IDENTIFY), so the geometry bytes stay 0. */
	const char *boot = hvm ? hvm->boot : "cd";
	if (hvm && hvm->ide[0].kind == HVM_DRIVE_DISK) {
		cmos[NV_HD] |= HD_TYPE_EXTENDED << 4;
		cmos[NV_HD0_TYPE] = HD_TYPE_USER;
	}
	if (hvm && hvm->ide[1].kind == HVM_DRIVE_DISK) {
		cmos[NV_HD] |= HD_TYPE_EXTENDED;
		cmos[NV_HD1_TYPE] = HD_TYPE_USER;
	}
	size_t n = strnlen(boot, HVM_BOOT_MAX);
	uint8_t b[3] = { 0 };
	for (size_t i = 0; i < n && i < 3; i++)
		b[i] = boot_nibble(boot[i]);
	cmos[NV_BOOT_1ST_2ND] = (uint8_t)(b[1] << 4 | b[0]);
	cmos[NV_BOOT_3RD] = (uint8_t)(b[2] << 4 | NO_FLOPPY_SIG_CHECK);

	unsigned int sum = 0;
	for (unsigned int i = CHECKSUM_FIRST; i <= CHECKSUM_LAST; i++)
		sum += cmos[i];
	cmos[NV_CSUM_HI] = (uint8_t)(sum >> 8);
	cmos[NV_CSUM_LO] = (uint8_t)sum;
}

/* ---- the device ---- */

static void rtc_free(struct domain *dom, struct rtc *r)
{
	if (r->kick_fd >= 0) {
		if (dom->loop) {
			event_loop_timer_cancel(dom->loop, r->timer_id);
			event_loop_remove(dom->loop, r->kick_fd);
		}
		close(r->kick_fd);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int rtc_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r) {
		ERR_SET(err, errlen, "out of memory for the RTC");
		return -1;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->dom = dom;
	r->kick_fd = -1;
	if (dom->hvm) {
		int64_t off = dom->hvm->rtc_offset;
		r->base_sec = off > OFFSET_SEC_MAX ? OFFSET_SEC_MAX : off < -OFFSET_SEC_MAX ? -OFFSET_SEC_MAX : off;
		r->localtime = dom->hvm->rtc_localtime;
	}
	r->cmos[REG_A] = A_DIVIDER_NORMAL | 0x06;       /* 1024 Hz periodic rate when enabled */
	r->cmos[REG_B] = B_24H;
	r->cmos[REG_D] = D_VRT;
	rtc_cmos_nvram_init(r->cmos, dom);
	r->last_sec = rtc_now(r).sec;
	restart_periodic(r);
	if (io_bus_register(&dom->pio, "rtc-cmos", RTC_INDEX_PORT, 2, rtc_io, r)) {
		ERR_SET(err, errlen, "RTC: ports %#x-%#x are taken", RTC_INDEX_PORT, RTC_DATA_PORT);
		rtc_free(dom, r);
		return -1;
	}
	if (dom->loop) {
		r->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		int rc = r->kick_fd < 0 ? -errno : event_loop_add(dom->loop, r->kick_fd, EPOLLIN, rtc_kicked, r);
		if (rc) {
			ERR_SET(err, errlen, "RTC: no eventfd on the main loop: %s", strerror(-rc));
			rtc_free(dom, r);
			return -1;
		}
	}
	*state = r;
	return 0;
}

static void rtc_teardown(struct domain *dom, void *state)
{
	rtc_free(dom, state);
}

/* Saved: u8 version, u8 index, cmos[128] (register A without UIP; the time registers as last
 * frozen), i64 delta seconds, u32 delta nanoseconds, little-endian.  The time continues from the
 * host's clock on the other side: hosts are assumed to agree on the time, as Xen assumes. */
#define RTC_SAVE_VERSION 1

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static long rtc_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	struct rtc *r = state;

	(void)dom;
	if (len < RTC_SAVED_SIZE)
		return -1;
	pthread_mutex_lock(&r->lock);
	rtc_catch_up(r);
	buf[0] = RTC_SAVE_VERSION;
	buf[1] = r->index;
	memcpy(buf + 2, r->cmos, CMOS_SIZE);
	put_le(buf + 2 + CMOS_SIZE, (uint64_t)r->delta_sec, 8);
	put_le(buf + 10 + CMOS_SIZE, (uint64_t)r->delta_nsec, 4);
	pthread_mutex_unlock(&r->lock);
	return RTC_SAVED_SIZE;
}

static int rtc_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
		       size_t errlen)
{
	struct rtc *r = state;

	(void)dom;
	if (len != RTC_SAVED_SIZE || buf[0] != RTC_SAVE_VERSION) {
		ERR_SET(err, errlen, "RTC state of %zu bytes, version %u: expected %d bytes of version %d", len,
			len ? buf[0] : 0, RTC_SAVED_SIZE, RTC_SAVE_VERSION);
		return -1;
	}
	const uint8_t *cmos = buf + 2;
	int64_t delta_sec = (int64_t)get_le(buf + 2 + CMOS_SIZE, 8);
	int64_t delta_nsec = (int64_t)get_le(buf + 10 + CMOS_SIZE, 4);
	uint8_t c = cmos[REG_C], b = cmos[REG_B];
	bool irqf = c & (C_PF | C_AF | C_UF) & b & (B_PIE | B_AIE | B_UIE);
	if (cmos[REG_A] & A_UIP || cmos[REG_D] != D_VRT || c & 0x0f || !(c & C_IRQF) != !irqf) {
		ERR_SET(err, errlen, "RTC registers A %#x, C %#x, D %#x: not what the chip can hold",
			cmos[REG_A], c, cmos[REG_D]);
		return -1;
	}
	if (delta_sec > DELTA_SEC_MAX || delta_sec < -DELTA_SEC_MAX || delta_nsec < 0 || delta_nsec >= NS_PER_SEC) {
		ERR_SET(err, errlen, "RTC offset %lld s %lld ns is out of range", (long long)delta_sec,
			(long long)delta_nsec);
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	r->index = buf[1];
	memcpy(r->cmos, cmos, CMOS_SIZE);
	r->delta_sec = delta_sec;
	r->delta_nsec = delta_nsec;
	r->last_sec = rtc_now(r).sec;
	restart_periodic(r);
	update_irq(r);
	pthread_mutex_unlock(&r->lock);
	rtc_kick(r);
	return 0;
}

const struct device_ops rtc_cmos_device = {
	.name = "rtc-cmos", .init = rtc_init, .teardown = rtc_teardown,
	.save = rtc_save, .restore = rtc_restore,
};
