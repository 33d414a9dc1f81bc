#!/usr/bin/env bash
# One command from a checkout to an installed bpfguard: Debian packages,
# build, install.
set -euo pipefail

usage()
{
	cat <<EOF2
Usage: install.sh [--prefix DIR] [--destdir DIR] [--no-deps]

Install the Debian packages bpfguard needs (make deps), build it (make)
and install it (make install).

  --prefix DIR    install under DIR (default /usr/local): objects and
                  helpers in DIR/lib/bpfguard, commands in DIR/sbin
  --destdir DIR   stage the installation under DIR (packaging)
  --no-deps       do not install Debian packages
  -h, --help      this text
EOF2
}

prefix=/usr/local destdir="" deps=1
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--prefix)
		[[ $# -ge 2 ]] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
		prefix=$2
		shift
		;;
	--destdir)
		[[ $# -ge 2 ]] || { echo "install.sh: --destdir needs a directory" >&2; exit 2; }
		destdir=$2
		shift
		;;
	--no-deps) deps=0 ;;
	*)
		echo "install.sh: unknown option $1 (see --help)" >&2
		exit 2
		;;
	esac
	shift
done

cd "$(dirname "$(readlink -f "$0")")"
((deps == 0)) || ./scripts/deps.sh --build
make -s all
make -s install PREFIX="$prefix" DESTDIR="$destdir"
echo "installed under ${destdir}${prefix}: try ${prefix}/sbin/bpfguard-up --help"
