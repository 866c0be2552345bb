#!/usr/bin/python3
"""Middle tier (hop 1) of the kerbscope lab double hop.

A small HTTP server that accepts Negotiate (python3-gssapi, MIT krb5 underneath) and then calls
hop 2 (another Negotiate-protected web service) *as the user*:

  * if the client delegated a TGT (GSS_C_DELEG_FLAG, forwarded TGT inside the AP-REQ), hop 1 uses
    it to ask the KDC for a ticket to hop 2 and authenticates with Negotiate (the double hop works);
  * in --s4u mode the acceptor credential is acquired with usage "both" (keytab + client keytab +
    ccache), so when the client did not delegate, MIT returns an S4U2Proxy-capable credential and
    hop 1 tries constrained delegation (TGS-REQ with the user's ticket as evidence ticket);
  * otherwise (no delegated credential) hop 1 calls hop 2 without credentials, gets 401 and answers
    the client 502.

Hop 2 may also be a file server or a directory (--hop2 smb://HOST/SHARE, --hop2 ldap://HOST): hop 1
then runs the stock MIT/Samba/OpenLDAP clients as the user. With a delegated credential it stores
it in a ccache of its own and runs `smbclient --use-kerberos=required //HOST/SHARE -c ls` resp.
`ldapwhoami -Y GSSAPI -H ldap://HOST` with KRB5CCNAME pointing at it (SMB2 SESSION_SETUP resp. SASL
bind with a Kerberos AP-REQ); without one it has nothing of the user's and runs `smbclient -N`
(anonymous NTLMSSP session) resp. `ldapwhoami -x` (anonymous simple bind).

Usage: hop1.py --listen IP --port 80 --keytab KT --principal HTTP/mid.lab.test@LAB.TEST
               --hop2 http://back.lab.test/|smb://back.lab.test/share|ldap://back.lab.test|none
               [--s4u --ccache FILE:...] [--default-creds] [--smb-conf FILE] [--work-dir DIR]
Environment: KRB5_CONFIG, KRB5_TRACE (optional). Logs to stderr.
"""
import argparse
import base64
import http.client
import http.server
import os
import subprocess
import sys
import threading
import urllib.parse

import gssapi

ARGS = None
SERVER_CREDS = None


def log(*a):
    print("hop1:", *a, file=sys.stderr, flush=True)


CCACHE_SEQ = [0]
CCACHE_LOCK = threading.Lock()


def run_client(cmd, creds):
    """run a stock client as the user: with the delegated credential stored in a fresh ccache
    (KRB5CCNAME), or with an empty one; returns (rc, output)"""
    with CCACHE_LOCK:
        CCACHE_SEQ[0] += 1
        cc = os.path.join(ARGS.work_dir, "deleg-%d.ccache" % CCACHE_SEQ[0])
    env = dict(os.environ, KRB5CCNAME="FILE:" + cc, LDAPNOINIT="1", HOME=ARGS.work_dir)
    if creds is not None:
        creds.store(store={"ccache": "FILE:" + cc}, overwrite=True)
        log("delegated credential of %s stored in %s" % (creds.name, cc))
    log("running:", " ".join(cmd))
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30)
    out = (p.stdout + p.stderr).strip().replace("\n", " | ")
    log("rc %d: %s" % (p.returncode, out))
    return p.returncode, out


def call_hop2_smb(creds):
    u = urllib.parse.urlsplit(ARGS.hop2)
    unc = "//%s%s" % (u.hostname, u.path or "/share")
    cmd = ["smbclient", "-s", ARGS.smb_conf]
    if creds is not None:
        cmd += ["--use-kerberos=required"]
    else:
        cmd += ["-N"]   # nothing of the user's: anonymous (NTLMSSP null session)
    rc, out = run_client(cmd + [unc, "-c", "ls"], creds)
    ok = rc == 0 and "NT_STATUS" not in out and "blocks of size" in out
    return (200 if ok else 403), "smbclient %s: rc %d: %s" % (unc, rc, out)


def call_hop2_ldap(creds):
    u = urllib.parse.urlsplit(ARGS.hop2)
    url = "ldap://%s" % u.hostname
    if creds is not None:
        cmd = ["ldapwhoami", "-Y", "GSSAPI", "-H", url]
    else:
        cmd = ["ldapwhoami", "-x", "-H", url]   # nothing of the user's: anonymous simple bind
    rc, out = run_client(cmd, creds)
    ok = rc == 0 and "dn:uid=" in out
    return (200 if ok else 403), "ldapwhoami %s: rc %d: %s" % (url, rc, out)


def call_hop2(creds):
    """GET hop 2; returns (status, detail). Negotiate only after a 401 that offers it."""
    if ARGS.hop2.startswith("smb://"):
        return call_hop2_smb(creds)
    if ARGS.hop2.startswith("ldap://"):
        return call_hop2_ldap(creds)
    u = urllib.parse.urlsplit(ARGS.hop2)
    host = u.hostname
    conn = http.client.HTTPConnection(host, u.port or 80, timeout=10)
    conn.request("GET", u.path or "/", headers={"Host": host, "User-Agent": "kerbscope-lab-hop1"})
    r = conn.getresponse()
    r.read()
    offers = r.getheader("WWW-Authenticate", "")
    if r.status != 401 or "Negotiate" not in offers:
        return r.status, "hop2 answered %d without auth" % r.status
    if creds is None:
        log("no delegated credential: cannot authenticate to hop 2 as the user")
        return r.status, "hop2 answered 401 and hop1 has no credential of the user"
    target = gssapi.Name("HTTP@" + host, gssapi.NameType.hostbased_service)
    try:
        ctx = gssapi.SecurityContext(name=target, creds=creds, usage="initiate",
                                     flags=gssapi.RequirementFlag.mutual_authentication)
        tok = ctx.step()
    except gssapi.exceptions.GSSError as e:
        log("gss init to hop2 failed:", e)
        return 401, "hop1 could not get a ticket for hop2: %s" % str(e).replace("\n", " ")
    conn.request("GET", u.path or "/", headers={
        "Host": host, "User-Agent": "kerbscope-lab-hop1",
        "Authorization": "Negotiate " + base64.b64encode(tok).decode()})
    r = conn.getresponse()
    r.read()
    return r.status, "hop2 answered %d to Negotiate (user seen by hop2: %s)" % (
        r.status, r.getheader("X-Lab-User", "?"))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status, body, headers=()):
        data = (body + "\n").encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Negotiate "):
            self._send(401, "Negotiate required", [("WWW-Authenticate", "Negotiate")])
            return
        token = base64.b64decode(auth.split(None, 1)[1])
        # a multi-leg mechanism (NTLMSSP inside SPNEGO) keeps its context on the connection
        ctx = getattr(self, "_ctx", None)
        if ctx is None:
            ctx = gssapi.SecurityContext(creds=SERVER_CREDS, usage="accept")
        try:
            out = ctx.step(token)
        except gssapi.exceptions.GSSError as e:
            log("accept failed:", e)
            self._ctx = None
            self._send(401, "Negotiate failed", [("WWW-Authenticate", "Negotiate")])
            return
        if not ctx.complete:
            self._ctx = ctx
            log("context continues (mech %s)" % ctx.mech)
            self._send(401, "Negotiate continues",
                       [("WWW-Authenticate", "Negotiate " + base64.b64encode(out or b"").decode())])
            return
        self._ctx = None
        log("context complete, mech %s" % ctx.mech)
        user = str(ctx.initiator_name)
        deleg = ctx.delegated_creds
        log("accepted %s; delegated credential: %s" % (user, "yes" if deleg is not None else "no"))
        if ARGS.hop2 == "none":
            status, detail = 200, "no second hop configured"
        else:
            status, detail = call_hop2(deleg)
        log(detail)
        hdrs = []
        if out:
            hdrs.append(("WWW-Authenticate", "Negotiate " + base64.b64encode(out).decode()))
        if status == 200:
            self._send(200, "hop1 user=%s; %s" % (user, detail), hdrs)
        else:
            self._send(502, "hop1 user=%s; %s" % (user, detail), hdrs)

    def log_message(self, fmt, *a):
        log(self.address_string(), fmt % a)


def main():
    global ARGS, SERVER_CREDS
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--keytab", required=True)
    p.add_argument("--principal", required=True)
    p.add_argument("--hop2", required=True)
    p.add_argument("--s4u", action="store_true")
    p.add_argument("--default-creds", action="store_true",
                   help="accept with GSS_C_NO_CREDENTIAL (every mechanism SPNEGO offers: krb5 via "
                        "KRB5_KTNAME, NTLMSSP via NTLM_USER_FILE)")
    p.add_argument("--ccache")
    p.add_argument("--smb-conf", help="smb.conf for smbclient (--hop2 smb://)")
    p.add_argument("--work-dir", default="/tmp", help="where delegated credentials are stored")
    ARGS = p.parse_args()
    name = gssapi.Name(ARGS.principal, gssapi.NameType.kerberos_principal)
    if ARGS.default_creds:
        SERVER_CREDS = None
    elif ARGS.s4u:
        store = {"keytab": ARGS.keytab, "client_keytab": ARGS.keytab, "ccache": ARGS.ccache}
        SERVER_CREDS = gssapi.Credentials(name=name, usage="both", store=store)
    else:
        SERVER_CREDS = gssapi.Credentials(name=name, usage="accept", store={"keytab": ARGS.keytab})
    srv = http.server.ThreadingHTTPServer((ARGS.listen, ARGS.port), Handler)
    log("listening on %s:%d (s4u=%s)" % (ARGS.listen, ARGS.port, ARGS.s4u))
    srv.serve_forever()


if __name__ == "__main__":
    main()
