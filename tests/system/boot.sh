# Booting the test guest: banner, its test's verdict, and the shutdown that follows.
. "$(dirname "$0")/testlib.bash"

test_boot_banner_pass_poweroff() {
	local cfg; cfg=$(make_cfg boot1 'cmdline = "test=hello"')
	"$XL" create "$cfg" 2>"$WORK/err" || fail "xl create failed: $(cat "$WORK/err")"
	expect_log boot1 "Xenith test guest: Xen 4.17.0-xenith"
	expect_log boot1 "PASS hello"
	wait_for 10 domain_gone boot1 || fail "boot1 still listed after poweroff"
	wait_for 5 no_vmm_left || fail "a VMM is still running after poweroff"
	grep -q "shut down: poweroff" "$(vmm_log boot1)" || fail "VMM log does not record the poweroff"
}

test_create_console_shows_banner() {
	local cfg; cfg=$(make_cfg boot2 'cmdline = "test=hello"')
	timeout 30 "$XL" create -c "$cfg" </dev/null >"$WORK/out" 2>&1 || fail "xl create -c failed: $(cat "$WORK/out")"
	grep -q "Xenith test guest: Xen" "$WORK/out" || fail "create -c did not show the banner: $(cat "$WORK/out")"
	grep -q "PASS hello" "$WORK/out" || fail "create -c did not show PASS: $(cat "$WORK/out")"
}

test_guest_crash_reports_fail() {
	local cfg; cfg=$(make_cfg boot3 'cmdline = "test=no-such-test"')
	"$XL" create "$cfg" 2>/dev/null
	expect_log boot3 "FAIL no-such-test: unknown test"
	wait_for 10 domain_gone boot3 || fail "crashed boot3 is still listed (on_crash=destroy)"
	grep -q "shut down: crash" "$(vmm_log boot3)" || fail "VMM log does not record the crash"
}

test_hostile_hypercalls_get_errors() {
	local cfg; cfg=$(make_cfg fuzz 'cmdline = "test=hcall-fuzz"')
	"$XL" create "$cfg" 2>/dev/null
	expect_log fuzz "PASS hcall-fuzz" 60
	wait_for 10 domain_gone fuzz || fail "fuzz domain did not power off"
	grep -q "shut down: poweroff" "$(vmm_log fuzz)" || fail "the VMM did not see a clean poweroff"
	# The unknown numbers were answered -ENOSYS and counted, not treated as fatal.
	local unknown; unknown=$(grep -o '[0-9]* unknown (answered -ENOSYS)' "$(vmm_log fuzz)" | awk '{ print $1 }')
	[ "${unknown:-0}" -gt 0 ] || fail "the VMM counted no unknown hypercalls: $(grep hypercalls "$(vmm_log fuzz)")"
	no_match "$(vmm_log fuzz)" "crashed" || fail "the fuzzing guest was crashed: $(grep crashed "$(vmm_log fuzz)")"
}

test_bundled_example_boots() {
	# What the README's first command runs, from the repository root as a user would.
	(cd "$ROOT" && timeout 30 "$XL" create -c examples/hello.cfg </dev/null >"$WORK/out" 2>&1) ||
		fail "xl create -c examples/hello.cfg failed: $(cat "$WORK/out")"
	grep -q "Xenith test guest: Xen 4.17.0-xenith" "$WORK/out" || fail "no banner: $(cat "$WORK/out")"
	grep -q "PASS hello" "$WORK/out" || fail "no PASS: $(cat "$WORK/out")"
}

test_deep_run_directory() {
	# Longer than a Unix socket address: the control socket is reached through a directory fd.
	local deep="$XENITH_RUNDIR/$(printf 'd%.0s' $(seq 100))"
	local cfg; cfg=$(make_cfg deep 'cmdline = "test=counter"')
	XENITH_RUNDIR=$deep "$XL" create "$cfg" 2>"$WORK/err" || fail "create in a deep run dir: $(cat "$WORK/err")"
	local list; list=$(XENITH_RUNDIR=$deep "$XL" list) || fail "xl list in the deep run dir failed"
	grep -q '^deep ' <<<"$list" || fail "xl list in the deep run dir does not show it: $list"
	XENITH_RUNDIR=$deep "$XL" destroy deep || fail "destroy in the deep run dir failed"
}

run_tests
