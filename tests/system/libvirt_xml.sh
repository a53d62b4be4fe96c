#!/bin/bash
# The domain XML xenith-libvirtd prints (src/libvirt/domxml.c, as `virsh dumpxml` shows it) is
# what libvirt itself accepts: libvirt's own schema check, Debian's virt-xml-validate, passes
# every document test_domxml formats (a full domain, libvirt's dialects read back, every os type,
# escaped names, paths and command lines, a running domain's id=).  No guest: runs without KVM.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

test_libvirt_schema_accepts_domxml_format() {
	need virt-xml-validate "libvirt-clients"
	local bin=$BUILD/tests/test_domxml dir=$WORK/xml f n=0 out
	[ -x "$bin" ] || skip "no $bin (make tools)"
	mkdir -p "$dir"
	out=$("$bin" --dump "$dir" 2>&1) || fail "test_domxml --dump failed: $out"
	for f in "$dir"/*.xml; do
		[ -e "$f" ] || continue
		out=$(virt-xml-validate "$f" domain 2>&1) ||
			fail "virt-xml-validate refused $(basename "$f"): $(echo "$out" | head -3 | tr '\n' ' ') -- $(tr '\n' ' ' <"$f" | head -c 600)"
		n=$((n + 1))
	done
	[ "$n" -ge 6 ] || fail "only $n documents were formatted"
}

# The validator is a real check, not a pass for anything: a document it must refuse.
test_libvirt_schema_refuses_a_broken_domain() {
	need virt-xml-validate "libvirt-clients"
	printf "<domain type='xen'><name>x</name><vcpu>many</vcpu></domain>\n" >"$WORK/bad.xml"
	if virt-xml-validate "$WORK/bad.xml" domain >/dev/null 2>&1; then
		fail "virt-xml-validate accepted <vcpu>many</vcpu>"
	fi
}

run_tests
