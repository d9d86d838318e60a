# lib.sh - start and stop tests/apiserver/kubetest.py from TAP test scripts.
#
# Source it (bash or POSIX sh):   . "$(dirname "$0")/apiserver/lib.sh"
#
#   kt_start [--tls] [server args...]   start a server on 127.0.0.1 (free port
#                                       chosen by the server); sets KT_DIR,
#                                       KT_PORT, KT_URL, KT_PID (and, with
#                                       --tls, KT_TOKEN plus the kt_ca variables)
#   kt_stop [--kill]                    stop the last started server (SIGTERM,
#                                       or SIGKILL to simulate a crash)
#   kt_kubeconfig [--token|--cert|--none] [FILE]
#                                       write a kubeconfig for the last server,
#                                       print its path, set KT_KUBECONFIG
#   kt_ca [DIR]                         make a test CA, a server certificate
#                                       (IP 127.0.0.1, DNS localhost) and a
#                                       client certificate (CN=$KT_CERT_USER,
#                                       O=$KT_CERT_GROUP; default user/group)
#   kt_curl ARGS...                     curl against the last server with the
#                                       right CA and token (paths: kt_curl /version)
#   kt_on_exit 'COMMAND'                run COMMAND at exit (lib.sh owns the EXIT trap)
#
# Every server started here is killed when the sourcing script exits, on
# success, failure, or a signal.  Temporary directories are removed unless
# KT_KEEP=1.

if [ -z "${KT_LIB_DIR:-}" ]; then
    if [ -n "${BASH_SOURCE:-}" ]; then
        # shellcheck disable=SC3028,SC3054
        KT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    else
        KT_LIB_DIR=$(cd "$(dirname "$0")/apiserver" && pwd)
    fi
fi
KT_PYTHON=${KT_PYTHON:-python3}
KT_PIDS=""
KT_TMPDIRS=""
KT_ON_EXIT_CMDS=""

kt__cleanup() {
    for kt__p in $KT_PIDS; do
        kill -TERM "$kt__p" 2>/dev/null
    done
    for kt__p in $KT_PIDS; do
        kt__i=0
        while kill -0 "$kt__p" 2>/dev/null && [ "$kt__i" -lt 50 ]; do
            sleep 0.1
            kt__i=$((kt__i + 1))
        done
        { kill -KILL "$kt__p"; wait "$kt__p"; } 2>/dev/null
    done
    KT_PIDS=""
    if [ -n "$KT_ON_EXIT_CMDS" ]; then
        eval "$KT_ON_EXIT_CMDS"
    fi
    if [ "${KT_KEEP:-0}" != 1 ]; then
        for kt__d in $KT_TMPDIRS; do
            rm -rf "$kt__d"
        done
    else
        for kt__d in $KT_TMPDIRS; do
            echo "# kept $kt__d" >&2
        done
    fi
}
trap 'kt__rc=$?; kt__cleanup; exit $kt__rc' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

kt_on_exit() {
    KT_ON_EXIT_CMDS="$KT_ON_EXIT_CMDS
$1"
}

kt__mktemp() { # kt__mktemp VAR: make a temp dir, remember it for clean-up (no subshell)
    kt__t=$(mktemp -d "${TMPDIR:-/tmp}/kubetest.XXXXXX") || return 1
    KT_TMPDIRS="$KT_TMPDIRS $kt__t"
    eval "$1=\$kt__t"
}

kt__rand() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

kt_ca() {
    if ! command -v openssl >/dev/null 2>&1; then
        echo "# kt_ca: openssl not installed" >&2
        return 1
    fi
    if [ -n "${1:-}" ]; then
        KT_CA_DIR=$1
    else
        kt__mktemp KT_CA_DIR || return 1
    fi
    mkdir -p "$KT_CA_DIR" || return 1
    (
        cd "$KT_CA_DIR" || exit 1
        ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        # shellcheck disable=SC2086
        openssl req -x509 $ec -keyout ca.key -out ca.crt -days 3650 -subj "/CN=kubetest-ca" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
            -addext "subjectKeyIdentifier=hash" || exit 1
        printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" \
            "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >server.ext
        printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=clientAuth" "subjectKeyIdentifier=hash" \
            "authorityKeyIdentifier=keyid" >client.ext
        # shellcheck disable=SC2086
        openssl req $ec -keyout server.key -out server.csr -subj "/CN=kubetest-server" || exit 1
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(kt__rand)" \
            -days 3650 -extfile server.ext -out server.crt || exit 1
        # shellcheck disable=SC2086
        openssl req $ec -keyout client.key -out client.csr \
            -subj "/O=${KT_CERT_GROUP:-group}/CN=${KT_CERT_USER:-user}" || exit 1
        openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(kt__rand)" \
            -days 3650 -extfile client.ext -out client.crt || exit 1
        rm -f server.csr client.csr
    ) >"$KT_CA_DIR/openssl.log" 2>&1 || {
        sed 's/^/# openssl: /' "$KT_CA_DIR/openssl.log" >&2
        return 1
    }
    KT_CA=$KT_CA_DIR/ca.crt
    KT_SERVER_CERT=$KT_CA_DIR/server.crt
    KT_SERVER_KEY=$KT_CA_DIR/server.key
    KT_CLIENT_CERT=$KT_CA_DIR/client.crt
    KT_CLIENT_KEY=$KT_CA_DIR/client.key
    export KT_CA_DIR KT_CA KT_SERVER_CERT KT_SERVER_KEY KT_CLIENT_CERT KT_CLIENT_KEY
}

kt_start() {
    kt__tls=0
    if [ "${1:-}" = "--tls" ]; then
        kt__tls=1
        shift
    fi
    if ! command -v "$KT_PYTHON" >/dev/null 2>&1; then
        echo "# kt_start: $KT_PYTHON not installed" >&2
        return 1
    fi
    kt__mktemp KT_DIR || return 1
    if [ "$kt__tls" = 1 ]; then
        if [ -z "${KT_CA_DIR:-}" ] || [ ! -f "$KT_CA_DIR/server.crt" ]; then
            kt_ca || return 1
        fi
        KT_TOKEN=kt-$(kt__rand)
        printf '%s,test-admin,system:masters\n' "$KT_TOKEN" >"$KT_DIR/tokens"
        set -- --tls-cert "$KT_SERVER_CERT" --tls-key "$KT_SERVER_KEY" --client-ca "$KT_CA" \
            --tokens "$KT_DIR/tokens" "$@"
        KT_SCHEME=https
    else
        KT_TOKEN=""
        KT_SCHEME=http
    fi
    "$KT_PYTHON" "$KT_LIB_DIR/kubetest.py" --port-file "$KT_DIR/port" --log "$KT_DIR/requests.log" "$@" \
        >"$KT_DIR/server.out" 2>"$KT_DIR/server.err" &
    KT_PID=$!
    KT_PIDS="$KT_PIDS $KT_PID"
    kt__i=0
    while [ ! -s "$KT_DIR/port" ]; do
        if ! kill -0 "$KT_PID" 2>/dev/null || [ "$kt__i" -ge 200 ]; then
            echo "# kt_start: server did not start:" >&2
            sed 's/^/#   /' "$KT_DIR/server.err" >&2
            kill -KILL "$KT_PID" 2>/dev/null
            return 1
        fi
        sleep 0.05
        kt__i=$((kt__i + 1))
    done
    KT_PORT=$(cat "$KT_DIR/port")
    KT_URL=$KT_SCHEME://127.0.0.1:$KT_PORT
    export KT_DIR KT_PORT KT_URL KT_PID KT_TOKEN
}

kt_stop() {
    kt__sig=TERM
    if [ "${1:-}" = "--kill" ]; then
        kt__sig=KILL
    fi
    [ -n "${KT_PID:-}" ] || return 0
    {
        kill -"$kt__sig" "$KT_PID"
        kt__i=0
        while kill -0 "$KT_PID" && [ "$kt__i" -lt 100 ]; do
            sleep 0.05
            kt__i=$((kt__i + 1))
        done
        kill -KILL "$KT_PID"
        wait "$KT_PID"
    } 2>/dev/null
    kt__rest=""
    for kt__p in $KT_PIDS; do
        [ "$kt__p" = "$KT_PID" ] || kt__rest="$kt__rest $kt__p"
    done
    KT_PIDS=$kt__rest
    KT_PID=""
    return 0
}

kt_kubeconfig() {
    kt__auth=token
    case "${1:-}" in
    --token) kt__auth=token; shift ;;
    --cert) kt__auth=cert; shift ;;
    --none) kt__auth=none; shift ;;
    esac
    kt__f=${1:-$KT_DIR/kubeconfig}
    {
        echo "apiVersion: v1"
        echo "kind: Config"
        echo "clusters:"
        echo "- name: kubetest"
        echo "  cluster:"
        echo "    server: $KT_URL"
        if [ "$KT_SCHEME" = https ]; then
            echo "    certificate-authority: $KT_CA"
        fi
        echo "users:"
        echo "- name: kubetest"
        if [ "$KT_SCHEME" = https ] && [ "$kt__auth" = token ]; then
            echo "  user:"
            echo "    token: $KT_TOKEN"
        elif [ "$KT_SCHEME" = https ] && [ "$kt__auth" = cert ]; then
            echo "  user:"
            echo "    client-certificate: $KT_CLIENT_CERT"
            echo "    client-key: $KT_CLIENT_KEY"
        else
            echo "  user: {}"
        fi
        echo "contexts:"
        echo "- name: kubetest"
        echo "  context:"
        echo "    cluster: kubetest"
        echo "    user: kubetest"
        echo "    namespace: default"
        echo "current-context: kubetest"
    } >"$kt__f"
    KT_KUBECONFIG=$kt__f
    export KT_KUBECONFIG
    echo "$kt__f"
}

kt_curl() {
    kt__path=$1
    shift
    if [ "$KT_SCHEME" = https ]; then
        curl -sS --cacert "$KT_CA" -H "Authorization: Bearer $KT_TOKEN" "$@" "$KT_URL$kt__path"
    else
        curl -sS "$@" "$KT_URL$kt__path"
    fi
}
