# shellcheck shell=bash
# tests/podman/lib.sh - helpers for oamlua's Podman tests and the README demo.
#
#   . tests/podman/lib.sh
#   if ! reason=$(pm_available); then echo "1..0 # skip $reason"; exit 0; fi
#   pm_service_start            # exports PM_SOCK, PM_API; stopped on exit
#   curl --unix-socket "$PM_SOCK" "$PM_API/_ping"
#   pm_atexit pm_cleanup_label app.oam.dev/name=demo
#
# Needs (Debian 12): apt-get install -y podman runc netavark catatonit busybox-static
# Runs as root only.  All podman state lives in a private store (see
# containers.conf / storage.conf next to this file, and NOTES.md):
#   /var/tmp/oamlua-podman/storage   images, layers, volumes, libpod db
#   /run/oamlua-podman/{storage,libpod}  per-boot state
# Set OAMLUA_PODMAN_DIR=/some/dir before sourcing to put everything there
# instead (passed to podman as --root/--runroot/--tmpdir/--volumepath).
#
# Functions (all return non-zero on failure, printing a one-line reason on
# stdout for pm_available, on stderr otherwise):
#   pm_available            0 if podman can really run a container here
#   pm_env                  export CONTAINERS_CONF, CONTAINERS_STORAGE_CONF...
#   pm_podman ARGS...       run the podman CLI on the private store
#   pm_build_image [NAME]   import busybox-static as NAME (idempotent)
#   pm_service_start        private `podman system service`; exports PM_SOCK
#   pm_service_stop
#   pm_curl ARGS...         curl -sS --unix-socket "$PM_SOCK" ARGS...
#   pm_cleanup_label K=V    kill and remove all pods (and volumes) labelled K=V
#   pm_free_port            print a free TCP port on 127.0.0.1
#   pm_atexit CMD...        run CMD at exit (LIFO); pm_service_stop runs last
#                           (lib.sh owns the EXIT/INT/TERM/HUP traps)

PM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PM_IMAGE_DEFAULT=localhost/oamlua-busybox:latest
PM_API_VERSION=${PM_API_VERSION:-v4.0.0}
# Base URL for curl --unix-socket; the host part is ignored.
PM_API="http://d/${PM_API_VERSION}/libpod"
PM_GLOBAL_FLAGS=()

# ---------------------------------------------------------------- exit hooks
_pm_atexit_cmds=()
_pm_atexit_installed=

_pm_run_atexit() {
	local rc=$? i
	for ((i = ${#_pm_atexit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_pm_atexit_cmds[i]}" >/dev/null 2>&1 || true
	done
	_pm_atexit_cmds=()
	# The service goes last, after the hooks that may still talk to it.
	pm_service_stop >/dev/null 2>&1
	return "$rc"
}

# pm_atexit CMD [ARGS...]: run at shell exit (and on INT/TERM/HUP), last
# registered first.  Arguments are quoted, so pass words, not a script.
pm_atexit() {
	local q
	q=$(printf '%q ' "$@")
	_pm_atexit_cmds+=("$q")
	if [ -z "$_pm_atexit_installed" ]; then
		_pm_atexit_installed=1
		trap _pm_run_atexit EXIT
		# In a script, turn signals into exit so the EXIT hooks run; leave an
		# interactive shell (README demo) alone.
		if [[ $- != *i* ]]; then
			trap 'exit 130' INT
			trap 'exit 143' TERM
			trap 'exit 129' HUP
		fi
	fi
}

# ----------------------------------------------------------------- settings
# pm_env: export the variables podman needs to use the private store, and
# set PM_GLOBAL_FLAGS (array) used by pm_podman.
pm_env() {
	export CONTAINERS_CONF="$PM_LIB_DIR/containers.conf"
	export CONTAINERS_STORAGE_CONF="$PM_LIB_DIR/storage.conf"
	# Keep the user's registries.conf/policy.json; nothing is pulled anyway.
	PM_GLOBAL_FLAGS=()
	if [ -n "${OAMLUA_PODMAN_DIR:-}" ]; then
		PM_STATE_DIR=$OAMLUA_PODMAN_DIR
		PM_RUN_DIR=$OAMLUA_PODMAN_DIR/run
		PM_GLOBAL_FLAGS=(--root "$PM_STATE_DIR/storage"
			--runroot "$PM_RUN_DIR/storage"
			--tmpdir "$PM_RUN_DIR/libpod"
			--volumepath "$PM_STATE_DIR/storage/volumes"
			--network-config-dir "$PM_STATE_DIR/networks")
	else
		# Must match containers.conf and storage.conf.
		PM_STATE_DIR=/var/tmp/oamlua-podman
		PM_RUN_DIR=/run/oamlua-podman
	fi
	export PM_STATE_DIR PM_RUN_DIR
	mkdir -p "$PM_STATE_DIR/storage" "$PM_STATE_DIR/networks" "$PM_RUN_DIR" || return 1
	# /run is not a tmpfs on these machines: forget per-boot state (which
	# would claim containers of a previous boot are still running) when the
	# boot id changed.  Nothing can be running from a previous boot.
	local boot old=
	boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
	[ -f "$PM_RUN_DIR/boot_id" ] && old=$(cat "$PM_RUN_DIR/boot_id")
	if [ "$old" != "$boot" ]; then
		rm -rf "${PM_RUN_DIR:?}/storage" "${PM_RUN_DIR:?}/libpod"
		mkdir -p "$PM_RUN_DIR" && echo "$boot" >"$PM_RUN_DIR/boot_id"
	fi
	return 0
}

# pm_podman ARGS...: the podman CLI on the private store.
pm_podman() {
	[ -n "${PM_STATE_DIR:-}" ] || pm_env || return 1
	podman "${PM_GLOBAL_FLAGS[@]}" "$@"
}

# --------------------------------------------------------------------- image
_pm_busybox() {
	local b
	for b in /bin/busybox /usr/bin/busybox; do
		[ -x "$b" ] || continue
		# busybox (dynamic) and busybox-static both install /bin/busybox;
		# only the static one runs inside an otherwise empty image.
		if LC_ALL=C ldd "$b" 2>&1 | grep -q 'not a dynamic executable'; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

# pm_build_image [NAME]: make NAME (default localhost/oamlua-busybox:latest)
# from busybox-static with `podman import`.  No-op if it already exists.
# The image has /bin/busybox plus a symlink per applet (sh, httpd, cat, env,
# sleep, wget, nc, ...), PATH=/bin, CMD ["sh"], /etc/passwd, /tmp, /root.
pm_build_image() {
	local name=${1:-$PM_IMAGE_DEFAULT} bb tmp a rc
	pm_env || return 1
	pm_podman image exists "$name" 2>/dev/null && return 0
	bb=$(_pm_busybox) || {
		echo "pm_build_image: no static busybox (apt-get install busybox-static)" >&2
		return 1
	}
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/oamlua-pm-image.XXXXXX") || return 1
	(
		set -e
		r=$tmp/rootfs
		mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/proc" "$r/sys" "$r/dev" "$r/var/www"
		cp "$bb" "$r/bin/busybox"
		for a in $("$r/bin/busybox" --list); do
			# --list includes "busybox" itself: do not overwrite the binary.
			[ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
		done
		chmod 1777 "$r/tmp"
		echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
		echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$r/etc/passwd"
		printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
		# Serialise concurrent builds; re-check under the lock.
		exec 9>"$PM_STATE_DIR/image.lock"
		flock 9
		if ! pm_podman image exists "$name" 2>/dev/null; then
			tar -C "$r" -cf - . | pm_podman import \
				--change 'CMD ["sh"]' --change 'ENV PATH=/bin' \
				--change 'LABEL org.oamlua.test-image=busybox' \
				- "$name" >/dev/null 2>"$tmp/import.err"
		fi
	)
	rc=$?
	[ $rc -eq 0 ] || echo "pm_build_image: podman import of $name failed: $(grep -v '^$' "$tmp/import.err" 2>/dev/null | tail -n 1)" >&2
	rm -rf "$tmp"
	return $rc
}

# ------------------------------------------------------------- availability
# pm_available: 0 if podman is installed and really runs a container here.
# Otherwise prints a one-line reason (for a TAP skip) and returns 1.
# The result is cached for the shell.
pm_available() {
	if [ -z "${_pm_available_rc:-}" ]; then
		_pm_available_reason=$(_pm_check 2>&1)
		_pm_available_rc=$?
		_pm_available_reason=$(printf '%s\n' "$_pm_available_reason" | grep -v '^$' | tail -n 1)
		[ -n "$_pm_available_reason" ] || _pm_available_reason="podman unavailable"
	fi
	[ "$_pm_available_rc" -eq 0 ] || echo "$_pm_available_reason"
	return "$_pm_available_rc"
}

# Prints nothing on success, a reason as its last line on failure.
_pm_check() {
	local c out
	[ "$(id -u)" = 0 ] || { echo "podman tests need root (rootful podman)"; return 1; }
	# catatonit is the pause process of every pod (play kube), netavark the
	# network backend: podman only recommends them.
	for c in podman runc curl conmon catatonit; do
		command -v "$c" >/dev/null 2>&1 || {
			echo "$c not installed (apt-get install -y podman runc netavark catatonit busybox-static)"
			return 1
		}
	done
	_pm_busybox >/dev/null || { echo "no static busybox (apt-get install -y busybox-static)"; return 1; }
	pm_env >/dev/null 2>&1 || { echo "cannot create podman state dirs"; return 1; }
	out=$(timeout 60 podman "${PM_GLOBAL_FLAGS[@]}" info --format '{{.Host.OCIRuntime.Name}}' 2>&1) || {
		echo "podman info failed: $(echo "$out" | grep -v '^$' | tail -n 1)"
		return 1
	}
	out=$(pm_build_image "$PM_IMAGE_DEFAULT" 2>&1) || {
		echo "cannot build test image: $(echo "$out" | tail -n 1)"
		return 1
	}
	out=$(timeout 120 podman "${PM_GLOBAL_FLAGS[@]}" run --rm --network host \
		"$PM_IMAGE_DEFAULT" sh -c 'echo pm-ok' 2>&1)
	case $out in
	*pm-ok*) return 0 ;;
	esac
	echo "podman cannot run a container: $(echo "$out" | grep -v '^$' | tail -n 1)"
	return 1
}

# ------------------------------------------------------------------ service
# pm_service_start: start `podman system service --time=0` on a private unix
# socket, wait until _ping answers, export PM_SOCK (socket path) and
# PM_SERVICE_DIR (also holds service.log).  Stopped by pm_service_stop,
# which is registered with pm_atexit.
pm_service_start() {
	local i
	[ -n "${PM_SERVICE_PID:-}" ] && kill -0 "$PM_SERVICE_PID" 2>/dev/null && return 0
	pm_env || return 1
	PM_SERVICE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/oamlua-pm-svc.XXXXXX") || return 1
	PM_SOCK=$PM_SERVICE_DIR/podman.sock
	export PM_SOCK PM_SERVICE_DIR PM_API
	podman "${PM_GLOBAL_FLAGS[@]}" system service --time=0 "unix://$PM_SOCK" \
		</dev/null >"$PM_SERVICE_DIR/service.log" 2>&1 &
	PM_SERVICE_PID=$!
	export PM_SERVICE_PID
	[ -n "$_pm_atexit_installed" ] || pm_atexit true # installs the traps
	for ((i = 0; i < 300; i++)); do
		if [ -S "$PM_SOCK" ] &&
			[ "$(curl -s -m 2 --unix-socket "$PM_SOCK" "$PM_API/_ping" 2>/dev/null)" = OK ]; then
			return 0
		fi
		kill -0 "$PM_SERVICE_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "pm_service_start: service did not answer: $(tail -n 1 "$PM_SERVICE_DIR/service.log" 2>/dev/null)" >&2
	pm_service_stop
	return 1
}

pm_service_stop() {
	local i
	if [ -n "${PM_SERVICE_PID:-}" ]; then
		kill -TERM "$PM_SERVICE_PID" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$PM_SERVICE_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$PM_SERVICE_PID" 2>/dev/null
		wait "$PM_SERVICE_PID" 2>/dev/null
	fi
	[ -n "${PM_SERVICE_DIR:-}" ] && [ -z "${PM_KEEP_SERVICE_DIR:-}" ] && rm -rf "$PM_SERVICE_DIR"
	PM_SERVICE_PID="" PM_SERVICE_DIR="" PM_SOCK=""
	return 0
}

# pm_curl ARGS...: curl against the private service.  Example:
#   pm_curl "$PM_API/pods/json"
#   pm_curl -X POST -H 'Content-Type: application/yaml' --data-binary @app.yaml \
#       "$PM_API/play/kube?network=host"
pm_curl() {
	curl -sS -m "${PM_CURL_TIMEOUT:-120}" --unix-socket "$PM_SOCK" "$@"
}

# ------------------------------------------------------------------ cleanup
# pm_cleanup_label KEY=VALUE: remove every pod whose labels include
# KEY=VALUE, then every volume with that label.  Pods get the labels of a
# Deployment's pod template (or of a Pod's metadata); volumes made from a
# PersistentVolumeClaim get the claim's labels, ConfigMap volumes get none.
# Pods are SIGKILLed and removed once exited: removing a pod right after its
# containers die often takes ~3.3 s here (podman 4.3 retries removing the pod
# cgroup while `podman container cleanup` still sits in it); see NOTES.md.
# Uses the CLI, so it works with or without the service.
pm_cleanup_label() {
	local label=$1 ids i
	[ -n "$label" ] || return 1
	pm_env || return 1
	ids=$(pm_podman pod ps -q --filter "label=$label" 2>/dev/null)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086
		pm_podman pod kill -s KILL $ids >/dev/null 2>&1
		for ((i = 0; i < 50; i++)); do
			[ -z "$(pm_podman pod ps -q --filter "label=$label" --filter status=running --filter status=degraded 2>/dev/null)" ] && break
			sleep 0.1
		done
		sleep 0.2
		# shellcheck disable=SC2086
		pm_podman pod rm -f -t 0 $ids >/dev/null 2>&1
	fi
	ids=$(pm_podman volume ls -q --filter "label=$label" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || pm_podman volume rm -f $ids >/dev/null 2>&1
	[ -z "$(pm_podman pod ps -q --filter "label=$label" 2>/dev/null)" ]
}

# --------------------------------------------------------------------- misc
# pm_free_port: a TCP port that is free on 127.0.0.1 right now.
pm_free_port() {
	local p i
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' && return 0
	fi
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
