#!/bin/bash
# Live interop: strongSwan's charon (5.9.8, default proposals, PSK) initiates against our
# IKEv2Responder running inside the IKETests process, and answers our IKEv2Initiator. Both live in one network namespace this
# script creates (RFC 5737 addresses on its loopback); nothing touches the host's network.
#
#   sudo Tests/IKETests/Interop/strongswan-interop.sh        (after `swift build --build-tests`)
#
# charon uses ports 5500/5501 so our responder can own 500/4500 in the same namespace, and
# kernel-libipsec (userspace ESP over a TUN device; this kernel has no XFRM) for the CHILD_SA.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
CHARON=/usr/lib/ipsec/charon
NS="vslbike-$$"
CLIENT=192.0.2.10
VIP=203.0.113.100
CLIENT_INNER=192.0.2.130
SERVICE=203.0.113.1
PSK="vpnslb-interop-psk-0123456789"

die() { echo "strongswan-interop: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (network namespace)"
[ -x "$CHARON" ] || die "$CHARON missing (strongswan-charon strongswan-swanctl libstrongswan-standard-plugins)"
command -v swanctl >/dev/null || die "swanctl missing"

WORK=$(mktemp -d /tmp/vslbike.XXXXXX)
CHARON_PID=""
cleanup() {
    local status=$?
    set +e
    if [ -n "$CHARON_PID" ]; then
        kill -TERM "$CHARON_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$CHARON_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CHARON_PID" 2>/dev/null
        wait "$CHARON_PID" 2>/dev/null
    fi
    ip netns del "$NS" 2>/dev/null
    if [ $status -ne 0 ]; then echo "strongswan-interop: work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS"
ip -n "$NS" link set lo up
# The service address stays off the namespace so the ping below leaves through the tunnel.
# OUR_CLIENT is where our initiator runs against charon as a responder.
OUR_CLIENT=198.51.100.10
for a in "$CLIENT" "$VIP" "$CLIENT_INNER" "$OUR_CLIENT"; do ip -n "$NS" addr add "$a/32" dev lo; done

mkdir -p "$WORK/run"
cat >"$WORK/strongswan.conf" <<EOF
charon {
    load = random nonce openssl aes sha1 sha2 hmac gcm curve25519 gmp kdf kernel-libipsec kernel-netlink socket-default vici
    port = 5500
    port_nat_t = 5501
    install_routes = yes
    plugins {
        vici {
            socket = unix://$WORK/charon.vici
        }
    }
    filelog {
        interop {
            path = $WORK/charon.log
            time_format = %T
            flush_line = yes
            default = 1
            ike = 2
        }
    }
}
EOF
cat >"$WORK/swanctl.conf" <<EOF
connections {
    interop {
        version = 2
        local_addrs = $CLIENT
        remote_addrs = $VIP
        local {
            auth = psk
            id = client.vpnslb.example
        }
        remote {
            auth = psk
            id = $VIP
        }
        children {
            interop {
                local_ts = $CLIENT_INNER/32
                remote_ts = $SERVICE/32
            }
        }
    }
    interop-gcm {
        version = 2
        local_addrs = $CLIENT
        remote_addrs = $VIP
        proposals = aes128gcm16-prfsha256-x25519
        local {
            auth = psk
            id = client.vpnslb.example
        }
        remote {
            auth = psk
            id = $VIP
        }
        children {
            interop-gcm {
                local_ts = $CLIENT_INNER/32
                remote_ts = $SERVICE/32
                esp_proposals = aes256-sha256
            }
        }
    }
    gateway {
        version = 2
        local_addrs = $CLIENT
        remote_addrs = $OUR_CLIENT
        pools = vips
        local {
            auth = psk
            id = gateway.vpnslb.example
        }
        remote {
            auth = psk
            id = our-client.vpnslb.example
        }
        children {
            gateway {
                local_ts = $CLIENT_INNER/32
                esp_proposals = aes128gcm16-x25519
            }
        }
    }
}
pools {
    vips {
        addrs = 198.51.100.200/32
    }
}
secrets {
    ike-interop {
        id-local = client.vpnslb.example
        secret = "$PSK"
    }
    ike-gateway {
        id-local = gateway.vpnslb.example
        id-remote = our-client.vpnslb.example
        secret = "$PSK"
    }
}
EOF

STRONGSWAN_CONF=$WORK/strongswan.conf ip netns exec "$NS" \
    sh -c "mount --bind '$WORK/run' /run && exec '$CHARON'" >"$WORK/charon.stdout" 2>&1 &
CHARON_PID=$!
for _ in $(seq 100); do [ -S "$WORK/charon.vici" ] && break; sleep 0.1; done
[ -S "$WORK/charon.vici" ] || die "charon did not open its vici socket; see $WORK"
swanctl --load-all --uri "unix://$WORK/charon.vici" --file "$WORK/swanctl.conf" >/dev/null

cd "$ROOT"
ip netns exec "$NS" env VPNSLB_STRONGSWAN_INTEROP="$WORK" VPNSLB_INTEROP_PSK="$PSK" \
    swift test --skip-build --filter StrongSwanInteropTests
