/* REMOTE_PROC_* numbers (remote_protocol.x) of procedures virsh, python3-libvirt and
 * virt-install reach that Xenith does not serve, with the API each stands for.  Only for the
 * not-supported message: a number missing here is named by its number. */
#include <stddef.h>
#include "libvirt/proc_api_names.h"

static const struct {
	int32_t proc;
	const char *api;
} api_names[] = {
	{ 36, "virConnectListDefinedNetworks" },  { 38, "virConnectListNetworks" },
	{ 46, "virNetworkLookupByName" },         { 50, "virConnectNumOfDefinedNetworks" },
	{ 52, "virConnectNumOfNetworks" },        { 53, "virDomainCoreDump" },
	{ 64, "virDomainBlockStats" },            { 65, "virDomainInterfaceStats" },
	{ 75, "virConnectFindStoragePoolSources" }, { 81, "virStoragePoolDelete" },
	{ 101, "virNodeGetCellsFreeMemory" },     { 102, "virNodeGetFreeMemory" },
	{ 103, "virDomainBlockPeek" },            { 104, "virDomainMemoryPeek" },
	{ 125, "virStorageVolCreateXMLFrom" },    { 165, "virStorageVolWipe" },
	{ 208, "virStorageVolUpload" },           { 209, "virStorageVolDownload" },
	{ 259, "virStorageVolWipePattern" },      { 260, "virStorageVolResize" },
	{ 121, "virDomainGetSecurityLabel" },     { 122, "virNodeGetSecurityModel" },
	{ 159, "virDomainMemoryStats" },          { 163, "virDomainGetJobInfo" },
	{ 164, "virDomainAbortJob" },             { 174, "virDomainUpdateDeviceFlags" },
	{ 185, "virDomainSnapshotCreateXML" },    { 187, "virDomainSnapshotNum" },
	{ 188, "virDomainSnapshotListNames" },    { 190, "virDomainHasCurrentSnapshot" },
	{ 194, "virDomainGetBlockInfo" },         { 197, "virDomainSetMemoryParameters" },
	{ 198, "virDomainGetMemoryParameters" },  { 203, "virConnectGetSysinfo" },
	{ 205, "virDomainSetBlkioParameters" },   { 206, "virDomainGetBlkioParameters" },
	{ 210, "virDomainInjectNMI" },            { 211, "virDomainScreenshot" },
	{ 226, "virDomainSendKey" },              { 227, "virNodeGetCPUStats" },
	{ 228, "virNodeGetMemoryStats" },         { 229, "virDomainGetControlInfo" },
	{ 238, "virDomainGetBlockJobInfo" },      { 243, "virDomainBlockStatsFlags" },
	{ 245, "virDomainReset" },                { 251, "virDomainBlockResize" },
	{ 253, "virDomainGetBlockIoTune" },       { 255, "virDomainGetNumaParameters" },
	{ 257, "virDomainGetInterfaceParameters" }, { 262, "virDomainGetCPUStats" },
	{ 263, "virDomainGetDiskErrors" },        { 264, "virDomainSetMetadata" },
	{ 265, "virDomainGetMetadata" },          { 274, "virDomainListAllSnapshots" },
	{ 277, "virDomainGetHostname" },          { 278, "virDomainGetSecurityLabelList" },
	{ 280, "virDomainGetEmulatorPinInfo" },
	{ 283, "virConnectListAllNetworks" },     { 284, "virConnectListAllInterfaces" },
	{ 285, "virConnectListAllNodeDevices" },  { 289, "virNodeGetMemoryParameters" },
};

const char *virt_proc_api_name(int32_t proc)
{
	for (size_t i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++)
		if (api_names[i].proc == proc)
			return api_names[i].api;
	return NULL;
}
