/* netback's offloads: the netif rings' GSO extras and checksum flags (xen/io/netif.h) against the
 * virtio_net_hdr a TAP opened with IFF_VNET_HDR reads and writes (linux/virtio_net.h).
 *
 * TX (guest to TAP).  A GSO extra becomes gso_type/gso_size with NEEDS_CSUM at the TCP checksum,
 * hdr_len the Ethernet, IP and TCP headers: the kernel segments.  csum_blank becomes NEEDS_CSUM at
 * the TCP or UDP checksum: the kernel (or the NIC) finishes it.  Both parse the headers with
 * netback_csum.c's parser, so an offset handed to the kernel was checked against the frame.
 * Without a vnet header nobody downstream can finish anything: blank checksums are completed here
 * and GSO is refused (we never offer it then).  A GSO frame must also be csum_blank, as Linux's
 * netfront always sends it: its checksum field then holds the pseudo-header sum the kernel's
 * segmentation starts from.
 *
 * RX (TAP to guest).  The TAP only hands us what netback_tap_offloads allowed, which follows the
 * frontend's features; a frame beyond them (a kernel misbehaving) is refused, not passed on.
 * NEEDS_CSUM becomes csum_blank | data_validated when the frontend takes blank checksums (IPv6 only
 * with feature-ipv6-csum-offload), else we complete it at csum_start/csum_offset. */
#include <endian.h>
#include <linux/if_tun.h>
#include "backends/netback.h"
#include "lib/error.h"

#define WHY(...) (ERR_SET(why, whylen, __VA_ARGS__), -1)

/* GSO types both ways: Xen's, virtio's, the IP version each needs, the feature that allows it. */
static const struct gso_kind {
	uint8_t xen, virtio, ip;
	unsigned int tun;
	const char *name;
} gso_kinds[] = {
	{ XEN_NETIF_GSO_TYPE_TCPV4, VIRTIO_NET_HDR_GSO_TCPV4, 4, TUN_F_TSO4, "TCPv4" },
	{ XEN_NETIF_GSO_TYPE_TCPV6, VIRTIO_NET_HDR_GSO_TCPV6, 6, TUN_F_TSO6, "TCPv6" },
};
#define N_GSO_KINDS (sizeof(gso_kinds) / sizeof(gso_kinds[0]))

static const struct gso_kind *gso_by_xen(uint8_t type)
{
	for (size_t i = 0; i < N_GSO_KINDS; i++)
		if (gso_kinds[i].xen == type)
			return &gso_kinds[i];
	return NULL;
}

static const struct gso_kind *gso_by_virtio(uint8_t type)
{
	for (size_t i = 0; i < N_GSO_KINDS; i++)
		if (gso_kinds[i].virtio == type)
			return &gso_kinds[i];
	return NULL;
}

static bool frontend_takes_gso(const struct netback_features *f, const struct gso_kind *k)
{
	return f->rx_sg && (k->ip == 4 ? f->rx_gso_tcpv4 : f->rx_gso_tcpv6);
}

unsigned int netback_tap_offloads(const struct netback_features *f)
{
	/* The kernel ignores TSO without CSUM: a GSO frame is always a partial checksum too. */
	if (!f->vnet_hdr || !f->rx_csum_blank)
		return 0;
	unsigned int o = TUN_F_CSUM;
	for (size_t i = 0; i < N_GSO_KINDS; i++)
		if (frontend_takes_gso(f, &gso_kinds[i]))
			o |= gso_kinds[i].tun;
	return o;
}

int netback_tx_offload(uint8_t *frame, size_t len, const struct netback_tx_meta *m,
		       const struct netback_features *f, struct virtio_net_hdr *h, char *why, size_t whylen)
{
	struct netback_l4 l4;
	char inner[160];

	*h = (struct virtio_net_hdr){ 0 };
	if (m->gso) {
		const struct gso_kind *k = gso_by_xen(m->gso_type);
		if (!f->tx_gso || !f->vnet_hdr)
			return WHY("GSO frame, but GSO was not offered");
		if (!k)
			return WHY("GSO type %u (only TCPv4 and TCPv6)", m->gso_type);
		if (!m->gso_size || m->gso_size > len)
			return WHY("GSO size %u for a frame of %zu bytes", m->gso_size, len);
		if (!(m->flags & NETTXF_csum_blank))
			return WHY("GSO frame without csum_blank");
		if (netback_l4_find(frame, len, &l4, inner, sizeof(inner)))
			return WHY("GSO frame: %s", inner);
		if (l4.proto != 6 || l4.ip != k->ip)
			return WHY("GSO type %s on an IPv%u packet of protocol %u", k->name, l4.ip, l4.proto);
		*h = (struct virtio_net_hdr){
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = k->virtio,
			.hdr_len = htole16((uint16_t)(l4.off + l4.hdr_len)), .gso_size = htole16(m->gso_size),
			.csum_start = htole16((uint16_t)l4.off), .csum_offset = htole16((uint16_t)l4.csum_at),
		};
		return 0;
	}
	if (m->flags & NETTXF_csum_blank) {
		if (!f->vnet_hdr)
			return netback_csum_fill(frame, len, why, whylen);
		if (netback_l4_find(frame, len, &l4, why, whylen))
			return -1;
		*h = (struct virtio_net_hdr){
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.csum_start = htole16((uint16_t)l4.off), .csum_offset = htole16((uint16_t)l4.csum_at),
		};
		return 0;
	}
	if (m->flags & NETTXF_data_validated)
		h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	return 0;
}

int netback_rx_offload(uint8_t *frame, size_t len, const struct virtio_net_hdr *h,
		       const struct netback_features *f, struct netback_rx_meta *m, char *why, size_t whylen)
{
	*m = (struct netback_rx_meta){ .gso_type = XEN_NETIF_GSO_TYPE_NONE };
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		const struct gso_kind *k = gso_by_virtio(h->gso_type);
		uint16_t size = le16toh(h->gso_size);
		if (!k || !frontend_takes_gso(f, k))
			return WHY("GSO type %#x from the TAP, which the frontend did not ask for", h->gso_type);
		if (!size)
			return WHY("GSO frame from the TAP with gso_size 0");
		if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !f->rx_csum_blank)
			return WHY("GSO frame from the TAP without a partial checksum");
		m->gso_type = k->xen;
		m->gso_size = size;
	}
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		size_t start = le16toh(h->csum_start), offset = le16toh(h->csum_offset);
		bool ipv6 = len >= 14 && frame[12] == 0x86 && frame[13] == 0xdd;
		if (start >= len || offset > len - start || len - start - offset < 2)
			return WHY("partial checksum at %zu + %zu outside the frame of %zu bytes", start, offset, len);
		if (f->rx_csum_blank && (!ipv6 || f->rx_ipv6_csum || m->gso_type != XEN_NETIF_GSO_TYPE_NONE)) {
			m->flags = NETRXF_csum_blank | NETRXF_data_validated;
			return 0;
		}
		if (netback_csum_at(frame, len, start, offset, why, whylen))
			return -1;
		m->flags = f->rx_csum_blank ? NETRXF_data_validated : 0;
		return 0;
	}
	if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		m->flags = NETRXF_data_validated;
	return 0;
}
