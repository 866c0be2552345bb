#!/usr/bin/python3
"""Make an *emulated* KRB_AP_ERR_MODIFIED (41) capture from a real MIT capture.

MIT acceptors never send 41: for the faults for which Windows answers 41 they send 31, 35, 44 or 45
inside the SPNEGO negTokenResp of the HTTP 401 (WWW-Authenticate: Negotiate <base64>). This script
rewrites exactly that one DER INTEGER (KRB-ERROR error-code [6] INTEGER) from FROM to 41 in every
HTTP response of the capture that carries such a token. The DER length of the integer does not
change (one content byte), so neither does the base64 length nor the TCP segment length; only the
TCP checksum is recomputed. Every other byte and every timestamp is kept.

usage: emulate41.py IN.pcap OUT.pcap [FROM_CODE]     prints the rewritten frame numbers
"""
import base64
import re
import sys

from scapy.all import IP, TCP, Raw, rdpcap, wrpcap  # python3-scapy

KRB_ERROR_CODE = 0x06  # context tag [6] of KRB-ERROR error-code


def rewrite_token(tok, frm, to):
    """tok: raw GSS/SPNEGO bytes. Returns the new bytes or None."""
    # KRB-ERROR ::= [APPLICATION 30] = 0x7e; error-code appears as a6 03 02 01 <code>
    i = tok.find(b"\x7e")
    while i != -1:
        j = tok.find(bytes([0xa0 | KRB_ERROR_CODE, 0x03, 0x02, 0x01, frm]), i)
        if j != -1:
            out = bytearray(tok)
            out[j + 4] = to
            return bytes(out)
        i = tok.find(b"\x7e", i + 1)
    return None


def main():
    src, dst = sys.argv[1], sys.argv[2]
    frm = int(sys.argv[3]) if len(sys.argv) > 3 else 31
    pkts = rdpcap(src)
    done = []
    for n, p in enumerate(pkts, 1):
        if not (p.haslayer(TCP) and p.haslayer(Raw)):
            continue
        payload = bytes(p[Raw].load)
        m = re.search(rb"WWW-Authenticate: Negotiate ([A-Za-z0-9+/=]+)", payload)
        if not m:
            continue
        tok = base64.b64decode(m.group(1))
        new = rewrite_token(tok, frm, 41)
        if new is None:
            continue
        b64 = base64.b64encode(new)
        assert len(b64) == len(m.group(1))
        payload = payload[:m.start(1)] + b64 + payload[m.end(1):]
        p[Raw].load = payload
        del p[TCP].chksum
        if p.haslayer(IP):
            del p[IP].chksum
        done.append(n)
    if not done:
        raise SystemExit("no KRB-ERROR %d found in an HTTP Negotiate response of %s" % (frm, src))
    # rebuild the packets so the checksums are recomputed, keep original timestamps
    out = []
    for p in pkts:
        q = p.__class__(bytes(p))
        q.time = p.time
        out.append(q)
    wrpcap(dst, out)
    print(" ".join(map(str, done)))


if __name__ == "__main__":
    main()
