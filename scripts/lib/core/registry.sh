# shellcheck shell=bash
# The program registry: scripts/programs (BG_PROGRAMS names another one),
# one line per program: name object program hook at enabled-by (the file
# explains them). bg_registry_load reads it into the BG_REG_* arrays, one
# element per line in file order, and sources the module of each name:
# lib/NAME.sh beside the registry, else scripts/lib/NAME.sh. A module
# defines bg_NAME_status_json, and bg_NAME_load, bg_NAME_attach and
# bg_NAME_detach where it does more than the generic bg_prog_load,
# bg_hook_attach and bg_hook_detach; it may define bg_NAME_check (before
# up.sh changes anything) and bg_NAME_forget IFINDEX (an interface that
# is gone).
# bg_NAME_status_json runs whether the program runs or not (its maps may
# be missing). A module's globals are plain assignments (it is sourced
# inside a function: declare needs -g).
BG_REG_NAME=() BG_REG_OBJ=() BG_REG_PROG=() BG_REG_HOOK=() BG_REG_AT=()
BG_REG_WHEN=() BG_REG_WHERE=() BG_MODULES=()

bg_registry_load()
{
	local file=${BG_PROGRAMS:-$BG_LIB_DIR/programs} n=0 line name obj prog \
		hook at when extra m f
	[[ -r $file ]] || bg_die "program registry $file missing"
	BG_REGISTRY=$(readlink -f "$file")
	while IFS= read -r line || [[ -n $line ]]; do
		n=$((n + 1))
		read -r name obj prog hook at when extra <<<"${line%%#*}"
		[[ -n $name ]] || continue
		[[ -n $when && -z $extra ]] ||
			bg_die "$file:$n: want 6 columns (name object program hook at enabled-by): $line"
		bg_registry_check "$file:$n" "$name" "$obj" "$prog" "$hook" "$at" "$when"
		BG_REG_NAME+=("$name") BG_REG_OBJ+=("$obj") BG_REG_PROG+=("$prog")
		BG_REG_HOOK+=("$hook") BG_REG_AT+=("$at") BG_REG_WHEN+=("$when")
		BG_REG_WHERE+=("$file:$n")
	done <"$file"
	((${#BG_REG_NAME[@]})) || bg_die "$file lists no program"
	for name in "${BG_REG_NAME[@]}"; do
		[[ " ${BG_MODULES[*]} " != *" $name "* ]] || continue
		f=$(bg_module_file "$name") || continue
		# shellcheck source=/dev/null # found through the registry
		source "$f"
		# load, attach and detach have generic ones (bg_prog_do).
		declare -F "bg_${name}_status_json" >/dev/null ||
			bg_die "$f does not define bg_${name}_status_json"
		BG_MODULES+=("$name")
	done
}

# bg_registry_check WHERE NAME OBJECT PROGRAM HOOK AT ENABLED-BY: a line
# that makes sense, and takes no hook position or program of a line
# before it.
bg_registry_check()
{
	local where=$1 name=$2 obj=$3 prog=$4 hook=$5 at=$6 when=$7 i
	[[ $name =~ ^[a-z][a-z0-9_]*$ ]] ||
		bg_die "$where: name '$name': lower-case letters, digits and _"
	[[ $obj == - || ($obj =~ ^[A-Za-z0-9_][A-Za-z0-9_./-]*\.o$ && $obj != *..*) ]] ||
		bg_die "$where: object '$obj': a .o file under the objects' directory, or -"
	[[ $prog =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
		bg_die "$where: program '$prog' is not a C identifier"
	case $hook in
	xdp | uprobe)
		[[ $at == - ]] || bg_die "$where: hook $hook takes no position: '-', not '$at'"
		;;
	xdp-stage)
		[[ $at =~ ^[0-9]{1,3}$ ]] ||
			bg_die "$where: xdp-stage needs the slot of bg_xdp_chain, not '$at'"
		;;
	tc-ingress | tc-egress)
		if ! [[ $at =~ ^[1-9][0-9]{0,4}$ ]] || ((at > 65535)); then
			bg_die "$where: $hook needs a TC priority (1-65535), not '$at'"
		fi
		;;
	*) bg_die "$where: hook '$hook': xdp, xdp-stage, tc-ingress, tc-egress or uprobe" ;;
	esac
	[[ $when =~ ^[a-z][a-z0-9_-]*$ ]] ||
		bg_die "$where: enabled-by '$when': required, always, off or a feature name"
	[[ $when != required || $obj != - ]] ||
		bg_die "$where: a required program needs its object"
	for i in "${!BG_REG_NAME[@]}"; do
		[[ ${BG_REG_PROG[i]} != "$prog" ]] ||
			bg_die "$where: program $prog is on ${BG_REG_WHERE[i]} already"
		[[ ${BG_REG_HOOK[i]} != "$hook" || ${BG_REG_AT[i]} != "$at" ||
			$hook == uprobe ]] ||
			bg_die "$where: $hook $at is taken by ${BG_REG_NAME[i]} (${BG_REG_WHERE[i]})"
	done
}

# The module file of NAME, if there is one.
bg_module_file()
{
	local d
	# ${%/*}, not dirname: a process per registry line added half a
	# second to every up.sh, down.sh and status.sh.
	for d in "${BG_REGISTRY%/*}/lib" "$BG_LIB_DIR/lib"; do
		[[ -r $d/$1.sh ]] && printf '%s' "$d/$1.sh" && return 0
	done
	return 1
}

# The objects of the registry's required lines are built (up.sh fails
# without them), and the helpers.
bg_require_programs()
{
	local i
	local -a objs=()
	for i in "${!BG_REG_NAME[@]}"; do
		[[ ${BG_REG_WHEN[i]} != required ]] || objs+=("${BG_REG_OBJ[i]}")
	done
	bg_require_objects "${objs[@]}"
}

# Whether the ruleset uses a feature that enables programs (enabled-by
# FEATURE): the ruleset up.sh is about to load (BG_RULESET_NEW), as
# `fwmapgen --features` lists them; else the running one, which the
# module named FEATURE tells from the maps (bg_FEATURE_in_use: the file
# it came from may have changed since). No such function: not used.
bg_ruleset_has_feature()
{
	local f=$1
	if [[ -n ${BG_RULESET_NEW:-} ]]; then
		"$FWMAPGEN" --features "$BG_RULESET_NEW" 2>/dev/null |
			grep -qxF -- "$f"
		return
	fi
	declare -F "bg_${f}_in_use" >/dev/null && "bg_${f}_in_use"
}

# What up.sh does with line $1: "run", "reserved" (no program yet: nothing
# to say), or "skip REASON".
bg_registry_state()
{
	local i=$1 obj=${BG_REG_OBJ[$1]} name=${BG_REG_NAME[$1]}
	local when=${BG_REG_WHEN[$1]}
	if [[ $obj == - ]]; then
		echo reserved
	elif [[ $when == off ]]; then
		echo "skip disabled in the registry (${BG_REG_WHERE[i]})"
	elif [[ ! -r $BG_OBJ_DIR/$obj ]]; then
		echo "skip $BG_OBJ_DIR/$obj not built"
	elif [[ " ${BG_MODULES[*]} " != *" $name "* ]]; then
		echo "skip no module lib/$name.sh"
	elif [[ $when != required && $when != always ]] &&
		! bg_ruleset_has_feature "$when"; then
		echo "skip the ruleset does not use feature $when"
	else
		echo run
	fi
}

# BG_RUN: the lines up.sh loads and attaches, in registry order;
# BG_SKIP: those it takes off instead (a reserved line has no program).
# Says why each skipped line is skipped; a required line cannot be.
bg_registry_plan()
{
	local i st
	BG_RUN=() BG_SKIP=()
	for i in "${!BG_REG_NAME[@]}"; do
		st=$(bg_registry_state "$i")
		case $st in
		run) BG_RUN+=("$i") ;;
		reserved) ;;
		*)
			[[ ${BG_REG_WHEN[i]} != required ]] ||
				bg_die "$(bg_prog_label "$i") is required: ${st#skip }"
			bg_info "skipping $(bg_prog_label "$i"): ${st#skip }"
			BG_SKIP+=("$i")
			;;
		esac
	done
}

# "NAME (PROGRAM, HOOK AT)" of line $1, for messages.
bg_prog_label()
{
	local at=" ${BG_REG_AT[$1]}"
	[[ $at != " -" ]] || at=""
	printf '%s (%s, %s%s)' "${BG_REG_NAME[$1]}" "${BG_REG_PROG[$1]}" \
		"${BG_REG_HOOK[$1]}" "$at"
}

# bg_prog_do FUNCTION LINE [IFACE [WHY]]: the module's bg_NAME_FUNCTION
# for registry line LINE: load gets OBJECT PROGRAM, the others IFACE
# PROGRAM HOOK AT [WHY]. check is optional; a line without a module is
# detached the generic way (bg_hook_detach).
bg_prog_do()
{
	local fn=$1 i=$2 f
	shift 2
	f=bg_${BG_REG_NAME[i]}_$fn
	if ! declare -F "$f" >/dev/null; then
		# What a module does when it has nothing of its own to do.
		case $fn in
		check | running) return 0 ;;
		load) f=bg_prog_load ;;
		attach) f=bg_hook_attach ;;
		detach) f=bg_hook_detach ;;
		*) bg_die "no module lib/${BG_REG_NAME[i]}.sh for $(bg_prog_label "$i")" ;;
		esac
	fi
	if [[ $fn == load ]]; then
		"$f" "${BG_REG_OBJ[i]}" "${BG_REG_PROG[i]}"
	else
		"$f" "$1" "${BG_REG_PROG[i]}" "${BG_REG_HOOK[i]}" "${BG_REG_AT[i]}" \
			"${@:2}"
	fi
}

# Call bg_NAME_forget IFINDEX of every module that has one.
bg_modules_forget()
{
	local m
	for m in "${BG_MODULES[@]}"; do
		! declare -F "bg_${m}_forget" >/dev/null || "bg_${m}_forget" "$1"
	done
}
