# shellcheck shell=bash
# bench.sh rows for AnyConnect: ocserv 1.1 in the server namespace, and either stock openconnect
# or `sluice connect` in the client namespace, both with DTLS (PSK-NEGOTIATE) when it comes up.
# Sourced by bench/bench.sh (uses its note/iperf_through and scripts/netns.sh).

# ac_ocserv_up: ocserv with user test/test on $SL_ADDR_S:4443; pool 198.19.0.0/24 (server .1).
ac_ocserv_up() {
	local d=$SL_WORK
	sl_pki "$d/pki"
	sl_ocserv_conf "$d" 4443 10
	sl_bg "$SL_NS_S" "$d/ocserv.log" ocserv -f -d 1 -c "$d/ocserv.conf"
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp 4443
	AC_PIN=pin-sha256:$(openssl x509 -in "$d/pki/server.pem" -pubkey -noout |
		openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
	printf 'test\n' >"$d/password"
}

bench_ocserv_openconnect() {
	if ! command -v ocserv >/dev/null || ! command -v openconnect >/dev/null; then
		note ocserv_openconnect "ocserv or openconnect not installed"
		return 0
	fi
	sl_init bench-oc
	sl_netns_pair
	ac_ocserv_up || { note ocserv_openconnect "ocserv did not start"; return 1; }
	sl_bg_from "$SL_NS_C" "$SL_WORK/password" "$SL_WORK/openconnect.log" openconnect \
		--user test --passwd-on-stdin --servercert "$AC_PIN" --interface "ocB$SL_TAG" \
		--script "$SL_ROOT/tests/tools/vpnc-record.sh" --non-inter "https://$SL_ADDR_S:4443/"
	if ! sl_wait_for 20 sl_ping "$SL_NS_C" 198.19.0.1; then
		note ocserv_openconnect "tunnel did not come up"
		sl_tail "$SL_WORK/openconnect.log" "$SL_WORK/ocserv.log"
		return 1
	fi
	sleep 2 # DTLS up and MTU detection done
	iperf_through ocserv_openconnect 198.19.0.1
}

bench_ocserv_sluice() {
	if ! command -v ocserv >/dev/null || [ ! -x "$SLUICE" ]; then
		note ocserv_sluice "ocserv or sluice missing"
		return 0
	fi
	sl_init bench-ocsl
	sl_netns_pair
	ac_ocserv_up || { note ocserv_sluice "ocserv did not start"; return 1; }
	sl_bg_from "$SL_NS_C" "$SL_WORK/password" "$SL_WORK/sluice.log" env VPNC_RECORD_DIR="$SL_WORK" \
		"$SLUICE" connect --user test --passwd-on-stdin --servercert "$AC_PIN" \
		--interface "slB$SL_TAG" --script "$SL_ROOT/tests/tools/vpnc-record.sh" \
		"https://$SL_ADDR_S:4443/"
	if ! sl_wait_for 20 sl_ping "$SL_NS_C" 198.19.0.1; then
		note ocserv_sluice "tunnel did not come up"
		sl_tail "$SL_WORK/sluice.log" "$SL_WORK/ocserv.log"
		return 1
	fi
	sl_wait_for 10 grep -q "data now over DTLS" "$SL_WORK/sluice.log" ||
		echo "  ocserv_sluice: DTLS did not come up, measuring CSTP"
	iperf_through ocserv_sluice 198.19.0.1
}
