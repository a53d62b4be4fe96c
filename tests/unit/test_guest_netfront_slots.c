/* The test guest's netfront slot arithmetic (guest/netfront_slots.c), compiled for the host: tx
 * frames split over slots with the first request carrying the whole length, rx frames gathered
 * from NETRXF_more_data chains with extra info slots stepped over, and every hostile chain (no sg
 * negotiated, a fragment past its page, a frame past the buffer, a negative status, extra info out
 * of place) dropped whole, once, without a byte written beyond the buffer; a frame's queue from its
 * IPv4 flow, stable per flow and spread over the queues. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../guest/netfront_slots.c"
#include "unit.h"

#define CAP 4000

struct rx_ctx {
	uint8_t pages[4][NF_PAGE_SIZE];
	uint8_t buf[CAP + 16];          /* 16 guard bytes past cap */
};

static void fill_pages(struct rx_ctx *c)
{
	for (int p = 0; p < 4; p++)
		for (unsigned int k = 0; k < NF_PAGE_SIZE; k++)
			c->pages[p][k] = (uint8_t)(p * 31 + k);
	memset(c->buf, 0xee, sizeof(c->buf));
}

static int guard_intact(const struct rx_ctx *c)
{
	for (int k = 0; k < 16; k++)
		if (c->buf[CAP + k] != 0xee)
			return 0;
	return 1;
}

static void test_tx_split(struct unit *u, const void *arg)
{
	(void)arg;
	uint16_t frag[NF_MAX_SLOTS];

	CHECK_INT(nf_tx_split(1514, 4096, frag, NF_MAX_SLOTS), 1);
	CHECK_INT(frag[0], 1514);
	CHECK_INT(nf_tx_req_size(frag, 0, 1514), 1514);
	CHECK_INT(nf_tx_split(1514, 512, frag, NF_MAX_SLOTS), 3);
	CHECK_INT(frag[0], 512);
	CHECK_INT(frag[1], 512);
	CHECK_INT(frag[2], 490);
	CHECK_INT(nf_tx_req_size(frag, 0, 1514), 1514);     /* the first carries the whole frame */
	CHECK_INT(nf_tx_req_size(frag, 1, 1514), 512);
	CHECK_INT(nf_tx_req_size(frag, 2, 1514), 490);
	CHECK_INT(nf_tx_split(1024, 512, frag, NF_MAX_SLOTS), 2);
	CHECK_INT(frag[1], 512);
	CHECK_INT(nf_tx_split(1514, 64, frag, NF_MAX_SLOTS), 0);    /* 24 slots: more than a backend takes */
	CHECK_INT(nf_tx_split(1152, 64, frag, NF_MAX_SLOTS), 18);
	CHECK_INT(nf_tx_split(0, 512, frag, NF_MAX_SLOTS), 0);
	CHECK_INT(nf_tx_split(100, 0, frag, NF_MAX_SLOTS), 0);
	CHECK_INT(nf_tx_split(100, 8192, frag, NF_MAX_SLOTS), 0);
}

static void test_rx_single(struct unit *u, const void *arg)
{
	struct rx_ctx *c = (struct rx_ctx *)arg;
	struct nf_rx_chain ch;

	fill_pages(c);
	nf_rx_chain_init(&ch, c->buf, CAP, 0);
	struct nf_rx_slot s = { .flags = NETRXF_data_validated, .status = 60, .offset = 100 };
	CHECK_INT(nf_rx_chain_add(&ch, &s, c->pages[0]), NF_RX_FRAME);
	CHECK(ch.frame == c->pages[0] + 100, "a one-slot frame is handed over in place");
	CHECK_INT(ch.frame_len, 60);
	CHECK_INT(ch.flags, NETRXF_data_validated);
	CHECK_INT(c->buf[0], 0xee);
}

static void test_rx_chain(struct unit *u, const void *arg)
{
	struct rx_ctx *c = (struct rx_ctx *)arg;
	struct nf_rx_chain ch;

	fill_pages(c);
	nf_rx_chain_init(&ch, c->buf, CAP, 1);
	struct nf_rx_slot s0 = { .flags = NETRXF_more_data | NETRXF_csum_blank, .status = 1000, .offset = 0 };
	struct nf_rx_slot s1 = { .flags = NETRXF_more_data, .status = 1000, .offset = 96 };
	struct nf_rx_slot s2 = { .flags = 0, .status = 514, .offset = 3582 };
	CHECK_INT(nf_rx_chain_add(&ch, &s0, c->pages[0]), NF_RX_MORE);
	CHECK_INT(nf_rx_chain_add(&ch, &s1, c->pages[1]), NF_RX_MORE);
	CHECK_INT(nf_rx_chain_add(&ch, &s2, c->pages[2]), NF_RX_FRAME);
	CHECK(ch.frame == c->buf, "a chained frame is gathered into the buffer");
	CHECK_INT(ch.frame_len, 2514);
	CHECK_INT(ch.flags, NETRXF_more_data | NETRXF_csum_blank);
	CHECK(!memcmp(c->buf, c->pages[0], 1000), "fragment 0 in place");
	CHECK(!memcmp(c->buf + 1000, c->pages[1] + 96, 1000), "fragment 1 in place");
	CHECK(!memcmp(c->buf + 2000, c->pages[2] + 3582, 514), "fragment 2 in place");
	/* The chain is over: the next slot starts a new frame. */
	struct nf_rx_slot s3 = { .status = 42, .offset = 8 };
	CHECK_INT(nf_rx_chain_add(&ch, &s3, c->pages[3]), NF_RX_FRAME);
	CHECK_INT(ch.frame_len, 42);
	CHECK(ch.frame == c->pages[3] + 8, "the next frame is its own");
}

static void test_rx_extra_info(struct unit *u, const void *arg)
{
	struct rx_ctx *c = (struct rx_ctx *)arg;
	struct nf_rx_chain ch;

	fill_pages(c);
	nf_rx_chain_init(&ch, c->buf, CAP, 1);
	/* First slot with two extra info slots and one more data fragment after them. */
	struct nf_rx_slot s0 = { .flags = NETRXF_extra_info | NETRXF_more_data, .status = 100, .offset = 0 };
	struct nf_rx_slot x1 = { .extra_more = 1 }, x2 = { .extra_more = 0 };
	struct nf_rx_slot s1 = { .flags = 0, .status = 50, .offset = 10 };
	CHECK_INT(nf_rx_chain_add(&ch, &s0, c->pages[0]), NF_RX_MORE);
	CHECK_INT(nf_rx_chain_add(&ch, &x1, c->pages[1]), NF_RX_MORE);
	CHECK_INT(nf_rx_chain_add(&ch, &x2, c->pages[2]), NF_RX_MORE);
	CHECK_INT(nf_rx_chain_add(&ch, &s1, c->pages[3]), NF_RX_FRAME);
	CHECK_INT(ch.frame_len, 150);
	CHECK(!memcmp(c->buf + 100, c->pages[3] + 10, 50), "the data after the extras");
	/* A frame ending with its extra info slot (no more_data): whole after the extra. */
	struct nf_rx_slot t0 = { .flags = NETRXF_extra_info, .status = 70, .offset = 0 };
	CHECK_INT(nf_rx_chain_add(&ch, &t0, c->pages[0]), NF_RX_MORE);
	CHECK_INT(nf_rx_chain_add(&ch, &x2, c->pages[1]), NF_RX_FRAME);
	CHECK_INT(ch.frame_len, 70);
	CHECK(!memcmp(ch.frame, c->pages[0], 70), "the data before the extra");
}

struct hostile {
	const char *name;
	int sg;
	struct nf_rx_slot slots[4];
	unsigned int n;
};

static const struct hostile hostile_cases[] = {
	{ "rx-chain-without-sg", 0, { { .flags = NETRXF_more_data, .status = 100 }, { .status = 100 } }, 2 },
	{ "rx-fragment-past-its-page", 1, { { .flags = NETRXF_more_data, .status = 100 }, { .status = 200, .offset = 4000 } }, 2 },
	{ "rx-offset-past-the-page", 1, { { .status = 1, .offset = 4096 } }, 1 },
	{ "rx-negative-status", 1, { { .flags = NETRXF_more_data, .status = 100 }, { .status = -1 } }, 2 },
	{ "rx-empty-first-slot", 1, { { .status = 0 } }, 1 },
	{ "rx-frame-past-the-buffer", 1, { { .flags = NETRXF_more_data, .status = 4000 }, { .status = 100 } }, 2 },
	{ "rx-extra-info-after-the-first", 1, { { .flags = NETRXF_more_data, .status = 10 }, { .flags = NETRXF_extra_info, .status = 10 }, { .extra_more = 0 } }, 3 },
};

static void test_rx_hostile(struct unit *u, const void *arg)
{
	const struct hostile *h = arg;
	static struct rx_ctx c;
	struct nf_rx_chain ch;

	fill_pages(&c);
	nf_rx_chain_init(&ch, c.buf, CAP, h->sg);
	for (unsigned int i = 0; i + 1 < h->n; i++)
		CHECK_INT(nf_rx_chain_add(&ch, &h->slots[i], c.pages[i]), NF_RX_MORE);
	CHECK_INT(nf_rx_chain_add(&ch, &h->slots[h->n - 1], c.pages[h->n - 1]), NF_RX_DROP);
	CHECK(guard_intact(&c), "nothing written past the buffer");
	/* The next frame is received whole. */
	struct nf_rx_slot ok = { .status = 60 };
	CHECK_INT(nf_rx_chain_add(&ch, &ok, c.pages[0]), NF_RX_FRAME);
	CHECK_INT(ch.frame_len, 60);
}

/* An Ethernet + IPv4 + UDP header from sport to 9999, len bytes of it (allocated exactly, so ASan
 * catches a read past the end). */
static uint8_t *udp_frame(uint16_t sport, size_t len, uint16_t frag)
{
	uint8_t f[42] = { 0 };
	f[12] = 0x08, f[13] = 0x00;
	f[14] = 0x45, f[14 + 9] = 17;
	f[14 + 6] = (uint8_t)(frag >> 8), f[14 + 7] = (uint8_t)frag;
	f[14 + 12] = 10, f[14 + 15] = 3;        /* 10.0.0.3 -> 10.0.0.1 */
	f[14 + 16] = 10, f[14 + 19] = 1;
	f[34] = (uint8_t)(sport >> 8), f[35] = (uint8_t)sport;
	f[36] = 9999 >> 8, f[37] = 9999 & 0xff;
	uint8_t *m = malloc(len);
	memcpy(m, f, len < sizeof(f) ? len : sizeof(f));
	return m;
}

static void test_flow_queue(struct unit *u, const void *arg)
{
	(void)arg;
	unsigned int seen[2] = { 0, 0 };

	for (uint16_t p = 32768; p < 32768 + 64; p++) {
		uint8_t *f = udp_frame(p, 42, 0);
		unsigned int q = nf_flow_queue(f, 42, 2);
		CHECK(q < 2, "queue %u of 2", q);
		if (q < 2)
			seen[q]++;
		CHECK_INT(nf_flow_queue(f, 42, 2), q);          /* a flow stays on its queue */
		CHECK_INT(nf_flow_queue(f, 42, 1), 0);
		free(f);
	}
	CHECK(seen[0] && seen[1], "64 flows over both queues (%u, %u)", seen[0], seen[1]);
	/* Fragments hash without ports: every fragment of a datagram on one queue. */
	uint8_t *a = udp_frame(1000, 42, 0x2000), *b = udp_frame(2000, 42, 0x2000);
	CHECK_INT(nf_flow_queue(a, 42, 2), nf_flow_queue(b, 42, 2));
	free(a), free(b);
	/* Too short for the ports: hashed without them, no read past the end. */
	uint8_t *t = udp_frame(1000, 36, 0);
	CHECK(nf_flow_queue(t, 36, 2) < 2, "short frame");
	free(t);
	uint8_t *tiny = udp_frame(1000, 20, 0);
	CHECK_INT(nf_flow_queue(tiny, 20, 2), 0);
	free(tiny);
	uint8_t arp[42] = { [12] = 0x08, [13] = 0x06 };
	CHECK_INT(nf_flow_queue(arp, sizeof(arp), 2), 0);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	static struct rx_ctx c;

	unit_case(&u, "tx-split", test_tx_split, NULL);
	unit_case(&u, "flow-queue", test_flow_queue, NULL);
	unit_case(&u, "rx-single-slot", test_rx_single, &c);
	unit_case(&u, "rx-more-data-chain", test_rx_chain, &c);
	unit_case(&u, "rx-extra-info-slots", test_rx_extra_info, &c);
	for (size_t i = 0; i < sizeof(hostile_cases) / sizeof(hostile_cases[0]); i++)
		unit_case(&u, hostile_cases[i].name, test_rx_hostile, &hostile_cases[i]);
	return unit_finish(&u);
}
