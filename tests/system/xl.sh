# xl's own output: list columns and JSON, info, domid/domname, help and prefix matching.
. "$(dirname "$0")/testlib.bash"

test_list_columns_like_xl() {
	local cfg; cfg=$(make_cfg lister 'cmdline = "test=counter"' 'memory = 48' 'vcpus = 2')
	"$XL" create "$cfg" 2>/dev/null
	"$XL" list >"$WORK/list"
	local header row; header=$(head -1 "$WORK/list"); row=$(sed -n 2p "$WORK/list")
	grep -qE '^Name +ID +Mem +VCPUs[[:space:]]+State[[:space:]]+Time\(s\)$' <<<"$header" ||
		fail "header is '$header'"
	grep -qE '^Domain-0 +0 +[0-9]+ +[0-9]+ +r----- +[0-9.]+$' <<<"$row" || fail "Domain-0 row is '$row'"
	local id; id=$(domain_id lister)
	grep -qE "^lister +$id +48 +2 +[-rbpscd]{6} +[0-9]+\.[0-9]$" "$WORK/list" ||
		fail "lister row is '$(grep lister "$WORK/list")'"
	local one; one=$("$XL" list lister) || fail "xl list lister failed"
	grep -q '^lister ' <<<"$one" || fail "xl list NAME does not show it: $one"
	"$XL" destroy lister
}

test_list_long_is_json() {
	need python3
	local cfg; cfg=$(make_cfg jsonic 'cmdline = "test=counter"' 'memory = 40')
	"$XL" create "$cfg" 2>/dev/null
	"$XL" list -l >"$WORK/json" || fail "xl list -l failed"
	python3 - "$WORK/json" <<'PY' || fail "xl list -l: $(cat "$WORK/json" | head -c 600)"
import json, sys
doms = json.load(open(sys.argv[1]))
d = [x for x in doms if x["config"]["c_info"]["name"] == "jsonic"]
assert len(d) == 1, doms
assert d[0]["config"]["b_info"]["max_memkb"] == 40 * 1024, d
assert isinstance(d[0]["domid"], int) and d[0]["domid"] > 0, d
PY
	"$XL" destroy jsonic
}

test_domid_domname() {
	local cfg id; cfg=$(make_cfg named 'cmdline = "test=counter"')
	"$XL" create "$cfg" 2>/dev/null
	id=$(domain_id named) || fail "xl domid named failed"
	[ "$("$XL" domname "$id")" = named ] || fail "xl domname $id is not 'named'"
	[ "$("$XL" domid Domain-0)" = 0 ] || fail "Domain-0 is not domid 0"
	if "$XL" domid nobody 2>/dev/null; then fail "xl domid of an unknown name succeeded"; fi
	"$XL" destroy named
}

test_info_reports_version_and_host_kind() {
	"$XL" info >"$WORK/info" || fail "xl info failed"
	grep -qE '^xen_version +: 4\.17\.0-xenith$' "$WORK/info" || fail "no xen_version line: $(cat "$WORK/info")"
	grep -qE '^xenith_host_kind +: (pvm|vmx|svm)$' "$WORK/info" || fail "no host kind: $(grep host_kind "$WORK/info")"
	grep -qE '^total_memory +: [0-9]+$' "$WORK/info" || fail "no total_memory"
	grep -qE '^nr_cpus +: [0-9]+$' "$WORK/info" || fail "no nr_cpus"
}

test_help_and_prefixes() {
	"$XL" help >"$WORK/help" 2>&1 || fail "xl help failed"
	for c in create list destroy pause unpause console info domid domname; do
		grep -qE "^ $c " "$WORK/help" || fail "xl help does not list $c"
	done
	"$XL" li >/dev/null || fail "the unique prefix 'li' did not run list"
	if "$XL" frobnicate >"$WORK/out" 2>&1; then fail "an unknown command succeeded"; fi
	grep -qi "frobnicate" "$WORK/out" || fail "unknown-command message does not name it"
}

test_create_paused_then_unpause() {
	local cfg; cfg=$(make_cfg sleeper 'cmdline = "test=hello"')
	"$XL" create -p "$cfg" 2>/dev/null
	[ "$(domain_state sleeper)" = "--p---" ] || fail "create -p state is '$(domain_state sleeper)'"
	sleep 0.5
	log_lacks sleeper "Xenith test guest" || fail "a paused domain printed its banner"
	"$XL" unpause sleeper
	expect_log sleeper "PASS hello"
}

test_pv_type_boots_pvh_kernel_with_warning() {
	local cfg; cfg=$(make_cfg classic 'type = "pv"' 'cmdline = "test=hello"')
	"$XL" create "$cfg" >"$WORK/out" 2>&1 || fail "type=pv with a PVH kernel failed: $(cat "$WORK/out")"
	grep -qi "classic PV.*not supported" "$WORK/out" || fail "no warning about classic PV: $(cat "$WORK/out")"
	expect_log classic "PASS hello"
}

run_tests
