#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""udp_record: a UDP relay that writes every datagram it forwards, for capturing packets of a
stock program as test data (tests/ovpn_capture.sh). One client only:

  client --UDP--> [LISTEN] udp_record --UDP--> [TO]

Output: one line per datagram, "c2s HEX" or "s2c HEX", flushed at once; stops after --max
datagrams or --seconds, whichever comes first."""
import argparse, select, socket, time


def addr(s):
    h, p = s.rsplit(":", 1)
    return (h, int(p))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=addr, required=True)
    ap.add_argument("--to", type=addr, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(a.listen)
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.connect(a.to)
    client = None
    n = 0
    end = time.monotonic() + a.seconds
    with open(a.out, "w") as out:
        while n < a.max and time.monotonic() < end:
            r, _, _ = select.select([front, back], [], [], 0.5)
            for s in r:
                d, src = s.recvfrom(65536)
                if s is front:
                    client = src
                    back.send(d)
                    out.write("c2s " + d.hex() + "\n")
                elif client is not None:
                    front.sendto(d, client)
                    out.write("s2c " + d.hex() + "\n")
                else:
                    continue
                out.flush()
                n += 1


if __name__ == "__main__":
    main()
