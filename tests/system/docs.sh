# The docs name only files and functions that exist.  README.md and docs/*.md are read for
# - paths in this tree: anything starting src/, tests/, scripts/, bench/, guest/, docs/, examples/
#   (a glob such as tests/unit/test_*.c must match a file; a folder such as src/hw/ must exist);
# - file names such as `io.c`, lib/hvlog.c or xs_wire.h: some file in this tree ends so, or, for
#   Xen's public headers, the installed libxen-dev's /usr/include/xen has it;
# - functions written `name()` in backquotes: defined or declared somewhere in src/ or guest/;
# and README.md names every doc, benchmark and source folder.
# Another project's files and functions the docs cite are listed below, each with its project, so
# that citing one is a decision and not a slip.  No guest is involved, so this runs without KVM.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

XEN_INCLUDE=/usr/include/xen
# Other projects' files, as the docs write them.
EXTERNAL_FILES=(
	tools/console/daemon/io.c            # Xen: xenconsoled
	tools/libs/light/libxl_x86_acpi.c    # Xen: libxl's ACPI tables
	libxl_arm_acpi.c                     # Xen: libxl's ACPI tables on Arm
	drivers/xen/cpu_hotplug.c            # Linux
	arch/x86/kvm/emulate.c               # Linux: KVM's instruction emulator
	docs/misc/xenstore.txt               # Xen's docs
	xl.cfg                               # Xen: the domain config format, xl.cfg(5)
)
# Other projects' functions.
EXTERNAL_FUNCTIONS=(
	BUG                                  # Linux
)

is_in() {   # WORD LIST...
	local w=$1 x
	shift
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}

# The tree's files and folders, relative, without build output and git's own.
tree_listing() {
	(cd "$ROOT" && find . \( -path ./build -o -path ./.git \) -prune -o -print | sed 's|^\./||')
}

# expand_braces NAME: the names a {a,b} group in NAME stands for, one a line.
expand_braces() {
	local alt alts
	if [[ $1 =~ ^([^{]*)\{([^}]*)\}(.*)$ ]]; then
		local pre=${BASH_REMATCH[1]} post=${BASH_REMATCH[3]}
		IFS=, read -ra alts <<<"${BASH_REMATCH[2]}"
		for alt in "${alts[@]}"; do expand_braces "$pre$alt$post"; done
	else
		echo "$1"
	fi
}

# mentions FILE: each file or path the Markdown FILE names, one a line (sorted, unique).
mentions() {
	local ext='c|h|py|sh|bash|md|S|ld|cfg' part='([A-Za-z0-9_./*-]|\{[A-Za-z0-9_.,*-]*\})'
	local name
	{
		# (a doc may name none of one kind: grep's "no match" is not an error here)
		{ grep -oE "(^|[^A-Za-z0-9_./*{},-])(src|tests|scripts|bench|guest|docs|examples)/$part*" "$1" ||
			true; } | sed -E 's|^[^a-z]||'
		{ grep -oE "$part+\.($ext)([^A-Za-z0-9_]|$)" "$1" || true; } | sed -E 's/[^A-Za-z0-9_*]$//'
	} | sed -E 's/\.+$//' | sort -u | while IFS= read -r name; do expand_braces "$name"; done | sort -u
}

# exists NAME LISTING: NAME is a path in the tree (glob allowed), or the end of one, or a Xen header.
exists() {
	local name=$1 listing=$2 pattern
	# Names hold only [A-Za-z0-9_./*-]: "." is matched literally, "*" as a glob within a folder.
	pattern=${name%/}
	pattern=${pattern//./\\.}
	pattern=${pattern//\*/[^/]*}
	grep -qE "(^|/)$pattern$" <<<"$listing" && return 0
	[ -e "$XEN_INCLUDE/$name" ] || [ -e "$XEN_INCLUDE/io/$name" ] || [ -e "/usr/include/$name" ]
}

# missing_in FILE LISTING: "FILE: name" for each name FILE mentions that does not exist.
missing_in() {
	local doc=$1 listing=$2 name
	while IFS= read -r name; do
		[ -n "$name" ] || continue
		is_in "$name" "${EXTERNAL_FILES[@]}" && continue
		exists "$name" "$listing" || echo "${doc#"$ROOT"/}: $name"
	done < <(mentions "$doc")
}

docs_list() { echo "$ROOT/README.md"; ls "$ROOT"/docs/*.md; }

test_docs_name_only_files_that_exist() {
	[ -d "$XEN_INCLUDE" ] || skip "no $XEN_INCLUDE (libxen-dev; scripts/install-deps)"
	local listing doc missing="" count=0
	listing=$(tree_listing)
	while IFS= read -r doc; do
		count=$((count + $(mentions "$doc" | wc -l)))
		missing+=$(missing_in "$doc" "$listing")
		missing+=$'\n'
	done < <(docs_list)
	# The extraction itself must be working: the docs name well over a hundred files.
	[ "$count" -ge 100 ] || fail "only $count file names found in the docs: the extraction is broken"
	missing=$(grep -v '^$' <<<"$missing" || true)
	[ -z "$missing" ] || fail "named in the docs but not in the tree: $(tr '\n' ';' <<<"$missing")"
}

# functions_in FILE: the functions FILE names as `name()`, one a line.
functions_in() {
	# shellcheck disable=SC2016   # the backquotes are Markdown's, matched literally
	{ grep -oE '`[A-Za-z_][A-Za-z0-9_]*\(\)`' "$1" || true; } | tr -d '`()' | sort -u
}

# missing_functions_in FILE: "FILE: name()" for each function FILE names that no C file declares.
missing_functions_in() {
	local doc=$1 fn
	while IFS= read -r fn; do
		[ -n "$fn" ] || continue
		is_in "$fn" "${EXTERNAL_FUNCTIONS[@]}" && continue
		# Declared or defined: the name, then "(", in a C file or header.
		grep -rqE --include='*.[ch]' "\b$fn\(" "$ROOT/src" "$ROOT/guest" ||
			echo "${doc#"$ROOT"/}: $fn()"
	done < <(functions_in "$doc")
}

test_docs_name_only_functions_that_exist() {
	local doc missing="" count=0
	while IFS= read -r doc; do
		count=$((count + $(functions_in "$doc" | wc -l)))
		missing+=$(missing_functions_in "$doc")
	done < <(docs_list)
	[ "$count" -ge 3 ] || fail "only $count functions found in the docs: the extraction is broken"
	[ -z "$missing" ] || fail "named in the docs but declared nowhere: $(tr '\n' ';' <<<"$missing")"
}

# The other way round: README.md's maps name every doc, benchmark and source folder there is.
test_readme_names_every_doc_benchmark_and_folder() {
	local f name missing=""
	for f in "$ROOT"/docs/*.md "$ROOT"/bench/*.sh "$ROOT"/src/*/; do
		f=${f%/}
		name=${f##*/}
		case $f in
		*/bench/lib.sh) continue ;;                      # sourced by the others, not run
		*/docs/*) ;;                                     # the docs line names them by file name
		*/bench/*) name=bench/$name ;;
		*/src/*) name=src/$name/ ;;
		esac
		grep -qF -- "$name" "$ROOT/README.md" || missing+="$name "
	done
	[ -z "$missing" ] || fail "README.md does not name: $missing"
}

# The checker on a made-up doc: it must see the names that are not there, and only those.
test_checker_sees_a_missing_name() {
	local doc="$WORK/made-up.md" listing got
	[ -d "$XEN_INCLUDE" ] || skip "no $XEN_INCLUDE (libxen-dev; scripts/install-deps)"
	cat >"$doc" <<-'EOF'
	The VMM (src/vmm/vm.c, src/vmm/no_such_file.c) and `io.c`; lib/hvlog.c and `lib/missing.c`.
	Tests: tests/unit/test_*.c and tests/unit/nothing_*.c, the folder src/hw/ and src/nowhere/.
	The parts src/lib/{hvlog,nothing}.c and `xen/{cpuid,sched_op}.c`.
	Xen's xen/io/blkif.h and xs_wire.h; libxl_arm_acpi.c is Xen's; not_ours.c is a slip.
	Functions: `vm_gpa_to_hva()`, Linux's `BUG()` and `no_such_function()`.
	EOF
	listing=$(tree_listing)
	got=$(missing_in "$doc" "$listing" | sed 's/^[^:]*: //' | sort | tr '\n' ' ')
	[ "$got" = "lib/missing.c not_ours.c src/lib/nothing.c src/nowhere/ src/vmm/no_such_file.c tests/unit/nothing_*.c " ] ||
		fail "on a made-up doc the checker reported '$got'"
	got=$(missing_functions_in "$doc" | sed 's/^[^:]*: //' | tr '\n' ' ')
	[ "$got" = "no_such_function() " ] || fail "on a made-up doc the function checker reported '$got'"
}

run_tests
