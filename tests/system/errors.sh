# Bad input: each gets a clear error, exit status 1, and leaves nothing behind.
. "$(dirname "$0")/testlib.bash"

# expect_refusal PATTERN XL-ARGS...: xl fails, says PATTERN, and no domain or VMM is left.
expect_refusal() {
	local pattern=$1
	shift
	if "$XL" "$@" >"$WORK/out" 2>&1; then fail "xl $* succeeded; it should have been refused"; fi
	grep -qiE -- "$pattern" "$WORK/out" || fail "xl $* said '$(tr '\n' ' ' <"$WORK/out")', not /$pattern/"
	wait_for 5 no_vmm_left || fail "a VMM is left after the refused xl $*"
	[ -z "$(ls -A "$XENITH_RUNDIR/domains" 2>/dev/null)" ] || fail "left in domains/: $(ls -A "$XENITH_RUNDIR/domains")"
	local names; names=$(domain_names) || fail "xl list failed after the refused xl $*"
	[ -z "$names" ] || [ "$names" = Domain-0 ] || fail "xl list shows a domain after the refused xl $*: $names"
}

test_missing_kernel() {
	expect_refusal "/nonexistent/vmlinuz.*No such file" create "$(make_cfg nokernel 'kernel = "/nonexistent/vmlinuz"')"
}

test_non_elf_kernel() {
	echo "not a kernel" >"$WORK/text-kernel"
	expect_refusal "text-kernel.*not an ELF" create "$(make_cfg textkernel "kernel = \"$WORK/text-kernel\"")"
}

test_elf_without_pvh_note() {
	# /bin/true is an ELF, but not a PVH kernel.
	expect_refusal "no PVH entry point" create "$(make_cfg nonote 'kernel = "/bin/true"')"
}

test_memory_larger_than_host() {
	# Within the domain limit (8 TiB) but beyond this host's RAM.
	expect_refusal "memory.*host" create "$(make_cfg huge 'memory = 8000000')"
}

test_memory_beyond_domain_limit() {
	expect_refusal "at most 8388608 MiB" create "$(make_cfg huger 'memory = 100000000')"
}

test_zero_vcpus() {
	expect_refusal "vcpus must be at least 1" create "$(make_cfg novcpu 'vcpus = 0')"
}

test_syntax_error_names_line() {
	local cfg; cfg=$(make_cfg syntax 'memory = ' 'vcpus = 1')
	expect_refusal "syntax.cfg:5:" create "$cfg"
}

test_unterminated_string_names_line() {
	local cfg; cfg=$(make_cfg unterminated 'extra = "oops')
	expect_refusal "unterminated.cfg:5: .*unterminated" create "$cfg"
}

test_unknown_key_warns_like_xl() {
	local cfg; cfg=$(make_cfg warned 'cmdline = "test=hello"' 'frobnicate = 1')
	"$XL" create "$cfg" >"$WORK/out" 2>&1 || fail "create with an unknown key failed: $(cat "$WORK/out")"
	grep -q "warned.cfg:6: warning: .*frobnicate" "$WORK/out" || fail "no warning naming the key: $(cat "$WORK/out")"
	expect_log warned "PASS hello"
}

test_hvm_not_yet_supported() {
	expect_refusal "hvm.*not yet supported" create "$(make_cfg hvm1 'type = "hvm"')"
}

test_destroy_unknown_domain() {
	expect_refusal "nosuchdomain.*does not exist" destroy nosuchdomain
	expect_refusal "does not exist" destroy 4242
	expect_refusal "does not exist" pause nosuchdomain
}

test_no_kvm_device_says_what_is_needed() {
	XENITH_KVM_DEVICE=/nonexistent/kvm expect_refusal "/nonexistent/kvm.*KVM" create "$(make_cfg nokvm)"
}

test_missing_cfg_file() {
	expect_refusal "/nonexistent.cfg.*No such file" create /nonexistent.cfg
}

test_override_on_command_line() {
	local cfg; cfg=$(make_cfg over 'cmdline = "test=hello"')
	"$XL" create "$cfg" 'cmdline="test=crash"' 2>/dev/null || fail "create with an override failed"
	expect_log over "crashing on purpose"
}

run_tests
