/* Domain procedures, part three: the domain as XML.  dumpxml, define and undefine, the xen-xl
 * native format both ways (xl.cfg text through xl's own parser and src/xl/cfg_write), device
 * attach/detach, and the addresses of a domain's interfaces.
 *
 * Device XML (<disk>, <interface>, as virsh attach-disk / attach-interface build it) is read by
 * domxml's one parser: the device is set inside a minimal <domain> of its own, so there is no
 * second XML reader to keep in step; exactly one disk or interface must come out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include "libvirt/domxml.h"
#include "libvirt/procs_domain.h"
#include "libvirt/procs_events.h"
#include "xl/cfg_write.h"
#include "xl/xl_cfg.h"

#define PD_NATIVE_FORMAT "xen-xl"

static int pd_xml_fail(struct virt_call *call, const char *err)
{
	return pd_fail(call, VIR_ERR_XML_ERROR, "%s", err);
}

/* ---- dumpxml ---- */

int pd_serve_get_xml_desc(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (pd_args_done(call) ||
	    pd_check_flags(call, flags, VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE |
			   VIR_DOMAIN_XML_UPDATE_CPU | VIR_DOMAIN_XML_MIGRATABLE, "virDomainGetXMLDesc"))
		return -1;
	/* The inactive XML is the definition, what the next start gets, with no id; the live one is
	 * what runs (a transient domain has only that). */
	bool inactive = flags & VIR_DOMAIN_XML_INACTIVE;
	struct domain_config dc;
	if ((inactive ? pd_config : pd_live_config)(call, &dom, &dc))
		return -1;
	struct domxml_identity ident = { .id = inactive ? -1 : dom.id };
	memcpy(dc.uuid, dom.uuid, sizeof(dc.uuid));
	dc.has_uuid = true;
	char err[1024] = "";
	char *xml = domxml_format(&dc, &ident, err, sizeof(err));
	domain_config_free(&dc);
	if (!xml)
		return pd_fail(call, VIR_ERR_INTERNAL_ERROR, "%s", err);
	xdr_put_string(call->ret, xml);
	free(xml);
	return 0;
}

/* ---- define, undefine ---- */

static int pd_define(struct virt_call *call, const char *xml)
{
	struct domain_config dc;
	struct virt_dom dom;
	char err[1024] = "";
	int rc = domxml_parse(xml, strlen(xml), &dc, err, sizeof(err));
	if (rc)
		return pd_domxml_fail(call, rc, err);
	struct virt_dom before;
	bool existed = virt_domain_lookup(pd_host(call), dc.name, NULL, -1, &before, err, sizeof(err)) == 0 &&
		       before.persistent;
	rc = virt_domain_define(pd_host(call), &dc, &dom, err, sizeof(err));
	domain_config_free(&dc);
	if (rc < 0)
		return pd_model_fail(call, rc, err);
	virt_events_note(call->daemon, &dom, VIR_DOMAIN_EVENT_DEFINED,
			 existed ? VIR_DOMAIN_EVENT_DEFINED_UPDATED : VIR_DOMAIN_EVENT_DEFINED_ADDED);
	pd_put_dom(call->ret, &dom);
	return 0;
}

int pd_serve_define_xml(struct virt_call *call)
{
	char *xml = xdr_get_string(call->args, PD_STRING_MAX);
	int ret = pd_args_done(call) ? -1 : pd_define(call, xml);
	free(xml);
	return ret;
}

int pd_serve_define_xml_flags(struct virt_call *call)
{
	char *xml = xdr_get_string(call->args, PD_STRING_MAX);
	uint32_t flags = xdr_get_u32(call->args);
	int ret = -1;
	if (!pd_args_done(call) &&
	    !pd_check_flags(call, flags, VIR_DOMAIN_DEFINE_VALIDATE, "virDomainDefineXMLFlags"))
		ret = pd_define(call, xml);
	free(xml);
	return ret;
}

static int pd_undefine(struct virt_call *call, const struct virt_dom *dom)
{
	if (!dom->persistent)
		return pd_fail(call, VIR_ERR_OPERATION_INVALID, "cannot undefine transient domain");
	char err[1024] = "";
	int rc = virt_domain_undefine(pd_host(call), dom, err, sizeof(err));
	if (rc < 0)
		return pd_model_fail(call, rc, err);
	virt_events_note(call->daemon, dom, VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
	return 0;
}

int pd_serve_undefine(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom_only(call, &dom))
		return -1;
	return pd_undefine(call, &dom);
}

/* There are no managed saves, snapshots, checkpoints, NVRAM or TPM state to remove or keep. */
#define PD_UNDEFINE_FLAGS ((1u << 7) - 1)

int pd_serve_undefine_flags(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	uint32_t flags = xdr_get_u32(call->args);
	if (pd_args_done(call) || pd_check_flags(call, flags, PD_UNDEFINE_FLAGS, "virDomainUndefineFlags"))
		return -1;
	return pd_undefine(call, &dom);
}

/* ---- xen-xl, both ways ---- */

static int pd_check_native_format(struct virt_call *call, const char *format)
{
	if (strcmp(format, PD_NATIVE_FORMAT))
		return pd_fail(call, VIR_ERR_INVALID_ARG, "unsupported config type %s", format);
	return 0;
}

static int pd_from_native(struct virt_call *call, const char *text)
{
	struct xl_cfg cfg;
	struct domain_config dc;
	char err[1024] = "";
	memset(&dc, 0, sizeof(dc));
	int ret = -1;
	if (xl_cfg_parse_string(text, "native config", &cfg, err, sizeof(err)) ||
	    domain_config_from_cfg(&cfg, &dc, NULL, err, sizeof(err))) {
		pd_fail(call, VIR_ERR_CONFIG_UNSUPPORTED, "%s", err);
		goto out;
	}
	struct domxml_identity ident = { .id = -1 };
	char *xml = domxml_format(&dc, &ident, err, sizeof(err));
	if (!xml) {
		pd_fail(call, VIR_ERR_CONFIG_UNSUPPORTED, "%s", err);
		goto out;
	}
	xdr_put_string(call->ret, xml);
	free(xml);
	ret = 0;
out:
	domain_config_free(&dc);
	xl_cfg_free(&cfg);
	return ret;
}

int pd_serve_xml_from_native(struct virt_call *call)
{
	char *format = xdr_get_string(call->args, PD_STRING_MAX);
	char *text = xdr_get_string(call->args, PD_STRING_MAX);
	uint32_t flags = xdr_get_u32(call->args);
	int ret = -1;
	if (!pd_args_done(call) && !pd_check_flags(call, flags, 0, "virConnectDomainXMLFromNative") &&
	    !pd_check_native_format(call, format))
		ret = pd_from_native(call, text);
	free(format);
	free(text);
	return ret;
}

static int pd_to_native(struct virt_call *call, const char *xml)
{
	struct domain_config dc;
	char err[1024] = "";
	int rc = domxml_parse(xml, strlen(xml), &dc, err, sizeof(err));
	if (rc)
		return pd_domxml_fail(call, rc, err);
	char *text = domain_config_to_cfg(&dc, err, sizeof(err));
	domain_config_free(&dc);
	if (!text)
		return pd_fail(call, VIR_ERR_CONFIG_UNSUPPORTED, "%s", err);
	xdr_put_string(call->ret, text);
	free(text);
	return 0;
}

int pd_serve_xml_to_native(struct virt_call *call)
{
	char *format = xdr_get_string(call->args, PD_STRING_MAX);
	char *xml = xdr_get_string(call->args, PD_STRING_MAX);
	uint32_t flags = xdr_get_u32(call->args);
	int ret = -1;
	if (!pd_args_done(call) && !pd_check_flags(call, flags, 0, "virConnectDomainXMLToNative") &&
	    !pd_check_native_format(call, format))
		ret = pd_to_native(call, xml);
	free(format);
	free(xml);
	return ret;
}

/* ---- Devices ---- */

/* Parses one <disk> or <interface> (an XML declaration before it is allowed) through domxml, inside
 * a domain made only to hold it.  0 with dc holding exactly that device, or -1 with the error. */
static int pd_parse_device(struct virt_call *call, const char *xml, struct domain_config *dc)
{
	static const char head[] = "<domain type='xen'><name>device</name><memory unit='KiB'>131072"
				   "</memory><os><type>xenpvh</type><kernel>/dev/null</kernel></os>"
				   "<devices>";
	static const char tail[] = "</devices></domain>";
	memset(dc, 0, sizeof(*dc));
	while (*xml == ' ' || *xml == '\t' || *xml == '\n' || *xml == '\r')
		xml++;
	if (!strncmp(xml, "<?xml", 5)) {
		const char *end = strstr(xml, "?>");
		if (!end)
			return pd_xml_fail(call, "the device's XML declaration is not closed");
		xml = end + 2;
	}
	size_t len = strlen(xml);
	if (len > DOMXML_MAX_BYTES)
		return pd_xml_fail(call, "the device XML is too long");
	char *doc = malloc(sizeof(head) + len + sizeof(tail));
	if (!doc)
		return pd_fail(call, VIR_ERR_NO_MEMORY, "no memory for the device XML");
	int n = sprintf(doc, "%s%s%s", head, xml, tail);
	char err[1024] = "";
	int rc = domxml_parse(doc, (size_t)n, dc, err, sizeof(err));
	free(doc);
	if (rc)
		return pd_domxml_fail(call, rc, err);
	if (dc->n_vifs + dc->n_disks != 1) {
		domain_config_free(dc);
		return pd_fail(call, VIR_ERR_CONFIG_UNSUPPORTED,
			       "a device XML here is one <disk> or one <interface>");
	}
	return 0;
}

static int pd_device(struct virt_call *call, bool attach, bool has_flags)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	char *xml = xdr_get_string(call->args, PD_STRING_MAX);
	/* virDomainAttachDevice and DetachDevice are LIVE without flags. */
	uint32_t flags = has_flags ? xdr_get_u32(call->args) : VIR_DOMAIN_AFFECT_LIVE;
	struct domain_config dc;
	bool live, config;
	int ret = -1;
	memset(&dc, 0, sizeof(dc));
	if (pd_args_done(call) ||
	    pd_check_flags(call, flags, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG,
			   attach ? "virDomainAttachDeviceFlags" : "virDomainDetachDeviceFlags") ||
	    pd_affect(call, &dom, flags, &live, &config) || pd_parse_device(call, xml, &dc))
		goto out;
	char err[1024] = "";
	struct virt_host *h = pd_host(call);
	int rc;
	if (dc.n_vifs)
		rc = (attach ? virt_domain_attach_vif : virt_domain_detach_vif)(h, &dom, &dc.vifs[0], live,
									       config, err, sizeof(err));
	else
		rc = (attach ? virt_domain_attach_disk : virt_domain_detach_disk)(h, &dom, &dc.disks[0], live,
										 config, err, sizeof(err));
	/* The domain was found above: a -ENOENT now is the device that is not there. */
	if (rc == -ENOENT)
		ret = pd_fail(call, VIR_ERR_DEVICE_MISSING, "%s", err);
	else
		ret = rc < 0 ? pd_model_fail(call, rc, err) : 0;
out:
	domain_config_free(&dc);
	free(xml);
	return ret;
}

int pd_serve_attach_device(struct virt_call *call) { return pd_device(call, true, false); }
int pd_serve_attach_device_flags(struct virt_call *call) { return pd_device(call, true, true); }
int pd_serve_detach_device(struct virt_call *call) { return pd_device(call, false, false); }
int pd_serve_detach_device_flags(struct virt_call *call) { return pd_device(call, false, true); }

/* ---- domifaddr ---- */

/* One remote_domain_ip_addr per address in a vif's ip= ("A[/P]", several separated by spaces). */
static void pd_put_addrs(struct xdr_writer *w, const char *ip)
{
	char copy[512];
	snprintf(copy, sizeof(copy), "%s", ip ? ip : "");
	uint32_t count = 0;
	char *save = NULL;
	for (char *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save))
		count++;
	xdr_put_u32(w, count);
	snprintf(copy, sizeof(copy), "%s", ip ? ip : "");
	for (char *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
		bool v6 = strchr(a, ':') != NULL;
		unsigned int prefix = v6 ? 128 : 32;    /* the address alone when no prefix is given */
		char *slash = strchr(a, '/');
		if (slash) {
			*slash = '\0';
			prefix = (unsigned int)strtoul(slash + 1, NULL, 10);
		}
		xdr_put_i32(w, v6 ? VIR_IP_ADDR_TYPE_IPV6 : VIR_IP_ADDR_TYPE_IPV4);
		xdr_put_string(w, a);
		xdr_put_u32(w, prefix);
	}
}

int pd_serve_interface_addresses(struct virt_call *call)
{
	struct virt_dom dom;
	if (pd_get_dom(call, &dom))
		return -1;
	uint32_t source = xdr_get_u32(call->args);
	uint32_t flags = xdr_get_u32(call->args);
	if (pd_args_done(call) || pd_check_flags(call, flags, 0, "virDomainInterfaceAddresses") ||
	    pd_need_active(call, &dom))
		return -1;
	if (source != VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP)
		return pd_fail(call, VIR_ERR_OPERATION_UNSUPPORTED,
			       "Xenith knows no DHCP leases nor guest agent; --source arp gives the ip= of each vif");
	struct domain_config dc;
	if (pd_live_config(call, &dom, &dc))
		return -1;
	uint32_t n = 0;
	for (size_t i = 0; i < dc.n_vifs; i++)
		n += dc.vifs[i].ip != NULL;
	xdr_put_u32(call->ret, n);
	for (size_t i = 0; i < dc.n_vifs; i++) {
		const struct xl_vif *v = &dc.vifs[i];
		if (!v->ip)
			continue;
		char name[64], mac[VIF_MAC_TEXT];
		if (v->vifname)
			snprintf(name, sizeof(name), "%s", v->vifname);
		else
			snprintf(name, sizeof(name), "vif%d.%zu", dom.id, i);
		xdr_put_string(call->ret, name);
		if (v->mac_set) {
			xl_vif_mac_format(v->mac, mac);
			xdr_put_opt_string(call->ret, mac);
		} else {
			xdr_put_opt_string(call->ret, NULL);
		}
		pd_put_addrs(call->ret, v->ip);
	}
	domain_config_free(&dc);
	return 0;
}
