#!/usr/bin/python3
"""Write <capture>.expected.json and the tshark TSV dumps for every capture of one lab scenario.

usage: expected.py SCENARIO OUTDIR

The findings come from lab/scenarios.py, i.e. from how the scenario was built. tshark (independent of
kerbscope) is used only to look up the frame numbers of the evidence and to list the wire facts.
Every capture named OUTDIR/SCENARIO.<ext> or OUTDIR/SCENARIO__<variant>.<ext> is processed.
"""
import copy
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenarios  # noqa: E402

TSV_FIELDS = ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
              "kerberos.msg_type", "kerberos.error_code", "kerberos.SNameString", "kerberos.realm",
              "kerberos.CNameString", "kerberos.kdc_options", "dns.qry.name", "dns.cname",
              "http.authorization", "http.www_authenticate"]
TSV_FILTER = "kerberos or dns or http.authorization or http.www_authenticate"
NTLM_FIELDS = ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
               "tcp.dstport", "spnego.MechType", "spnego.supportedMech", "spnego.negResult",
               "ntlmssp.messagetype", "ntlmssp.auth.domain", "ntlmssp.auth.username",
               "ntlmssp.auth.hostname", "http.authorization", "http.www_authenticate"]
NTLM_FILTER = "ntlmssp or spnego"
CAPTURE_EXT = (".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz")


def tshark_fields(cap, fields, dfilter, header=False):
    cmd = ["tshark", "-r", cap, "-T", "fields", "-E", "separator=/t"]
    if header:
        cmd += ["-E", "header=y"]
    for f in fields:
        cmd += ["-e", f]
    cmd += ["-Y", dfilter]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def frames_matching(cap, dfilter):
    out = tshark_fields(cap, ["frame.number"], dfilter)
    return [int(x) for x in out.split()]


def wire_facts(cap):
    facts = {}
    rows = tshark_fields(cap, ["frame.number", "kerberos.msg_type", "kerberos.error_code"],
                         "kerberos.error_code")
    facts["krb_error_codes"] = [int(r.split("\t")[2].split(",")[0]) for r in rows.splitlines()]
    facts["krb_error_frames"] = [int(r.split("\t")[0]) for r in rows.splitlines()]
    rows = tshark_fields(cap, ["frame.number", "http.response.code"], "http.response")
    facts["http_statuses"] = [int(r.split("\t")[1]) for r in rows.splitlines()]
    facts["http_response_frames"] = [int(r.split("\t")[0]) for r in rows.splitlines()]
    # Kerberos message types in order (outer msg_type only; a TGS-REQ shows 12 even though its
    # PA-TGS-REQ carries an AP-REQ)
    rows = tshark_fields(cap, ["frame.number", "kerberos.msg_type"], "kerberos.msg_type")
    names = {10: "AS-REQ", 11: "AS-REP", 12: "TGS-REQ", 13: "TGS-REP", 14: "AP-REQ", 15: "AP-REP",
             30: "KRB-ERROR", 22: "KRB-CRED"}
    facts["kerberos_messages"] = [
        [int(r.split("\t")[0]), names.get(int(r.split("\t")[1].split(",")[0]), r.split("\t")[1])]
        for r in rows.splitlines()]
    rows = tshark_fields(cap, ["frame.number", "dns.qry.name", "dns.cname", "dns.a"],
                         "dns.flags.response == 1")
    facts["dns_responses"] = []
    for r in rows.splitlines():
        fr, q, cn, a = (r.split("\t") + ["", "", ""])[:4]
        facts["dns_responses"].append({"frame": int(fr), "qname": q,
                                       "cnames": [x for x in cn.split(",") if x],
                                       "a": [x for x in a.split(",") if x]})
    # carriers beyond HTTP (only listed when present): SMB2 SESSION_SETUP legs and LDAP binds
    rows = tshark_fields(cap, ["frame.number", "smb2.flags.response", "smb2.nt_status", "kerberos.msg_type",
                               "kerberos.error_code", "ntlmssp.messagetype", "ntlmssp.auth.username"],
                         "smb2.cmd == 1")
    if rows.strip():
        facts["smb2_session_setup"] = [carrier_leg(r) for r in rows.splitlines()]
    rows = tshark_fields(cap, ["frame.number", "ldap.protocolOp", "ldap.resultCode", "kerberos.msg_type",
                               "kerberos.error_code", "ldap.mechanism", "ldap.errorMessage"],
                         "ldap.protocolOp == 0 || ldap.protocolOp == 1")
    if rows.strip():
        facts["ldap_binds"] = [carrier_leg(r, ldap=True) for r in rows.splitlines()]
    n = subprocess.run(["capinfos", "-c", "-M", cap], capture_output=True, text=True).stdout
    for line in n.splitlines():
        if "Number of packets" in line:
            facts["packets"] = int(line.split(":")[1].strip().split()[0])
    return facts


def carrier_leg(row, ldap=False):
    """one SMB2 SESSION_SETUP / LDAP bind frame as tshark decodes it"""
    c = (row.split("\t") + [""] * 7)[:7]
    krb = {10: "AS-REQ", 11: "AS-REP", 12: "TGS-REQ", 13: "TGS-REP", 14: "AP-REQ", 15: "AP-REP",
           30: "KRB-ERROR"}
    leg = {"frame": int(c[0])}
    if ldap:
        leg["op"] = "bindRequest" if c[1].split(",")[0] == "0" else "bindResponse"
        if c[2]:
            leg["result_code"] = int(c[2].split(",")[0])
        if c[5]:
            leg["sasl_mechanism"] = c[5]
        if c[6]:
            leg["error_message"] = c[6]
    else:
        leg["op"] = "response" if c[1] in ("1", "True") else "request"
        if leg["op"] == "response" and c[2]:
            leg["nt_status"] = "0x%08x" % int(c[2].split(",")[0], 0)
    if c[3]:
        leg["kerberos"] = [krb.get(int(x), x) for x in c[3].split(",") if x]
    if c[4]:
        leg["krb_error_code"] = int(c[4].split(",")[0])
    if not ldap and c[5]:
        leg["ntlmssp"] = [int(x, 0) for x in c[5].split(",") if x]
    if not ldap and c[6]:
        leg["ntlm_user"] = c[6]
    return leg


def load_facts():
    facts = {}
    d = os.environ.get("SCEN_DIR")
    if d and os.path.exists(os.path.join(d, "facts.env")):
        for line in open(os.path.join(d, "facts.env")):
            if "=" in line:
                k, v = line.strip().split("=", 1)
                facts[k] = v
    return facts


def subst(v, facts):
    """replace "{fact}" strings by the build facts recorded by run.sh (ints stay ints)"""
    if isinstance(v, str) and v.startswith("{") and v.endswith("}") and v[1:-1] in facts:
        x = facts[v[1:-1]]
        return int(x) if x.isdigit() else x
    if isinstance(v, dict):
        return {k: subst(x, facts) for k, x in v.items()}
    if isinstance(v, list):
        return [subst(x, facts) for x in v]
    return v


def resolve(cap, findings, facts):
    out = []
    for f in findings:
        f = subst(copy.deepcopy(f), facts)
        roles = f.pop("evidence_filters", {})
        by_role = {}
        frames = set()
        for role, flt in roles.items():
            got = frames_matching(cap, flt)
            if not got:
                raise SystemExit("%s: evidence filter %s matched nothing: %s" % (cap, role, flt))
            by_role[role] = got
            if not role.startswith("context_"):
                frames.update(got)
        f["frames"] = sorted(frames)
        f["frames_by_role"] = by_role
        out.append(f)
    return out


def main():
    scen, outdir = sys.argv[1], sys.argv[2]
    spec = scenarios.SCENARIOS.get(scen) or {"description": "TODO", "built_how": "TODO", "findings": []}
    caps = []
    for p in sorted(glob.glob(os.path.join(outdir, scen + "*"))):
        base = os.path.basename(p)
        if not base.endswith(CAPTURE_EXT):
            continue
        stem = base
        for ext in CAPTURE_EXT:
            if base.endswith(ext):
                stem = base[: -len(ext)]
                break
        if stem != scen and not stem.startswith(scen + "__"):
            continue
        caps.append((p, stem))
    if not caps:
        raise SystemExit("no capture for scenario %s in %s" % (scen, outdir))
    for cap, stem in caps:
        variant = stem[len(scen) + 2:] if stem != scen else ""
        doc = {
            "scenario": scen,
            "capture": os.path.basename(cap),
            "variant": scenarios.VARIANTS.get(variant, variant) if variant else "main",
            "description": spec["description"],
            "built_how": spec["built_how"],
            "client": spec.get("client", scenarios.CLIENT),
            "kdc": spec.get("kdc", scenarios.KDC),
            "server": spec.get("server"),
            "realm": scenarios.REALM,
            "user": scenarios.USER,
        }
        for k in ("first_hop", "second_hop", "acceptable_mechanisms"):
            if k in spec:
                doc[k] = spec[k]
        facts = load_facts()
        doc["findings"] = resolve(cap, spec.get("findings", []), facts)
        if spec.get("optional_findings"):
            doc["optional_findings"] = resolve(cap, spec["optional_findings"], facts)
        if facts:
            doc["build_facts"] = facts
        doc["must_not_find"] = spec.get("must_not_find", [])
        doc["notes"] = scenarios.NOTE_FRAMES
        doc["keytabs"] = {os.path.basename(k)[len(scen) + 1:-len(".keytab")]: os.path.basename(k)
                          for k in sorted(glob.glob(os.path.join(outdir, scen + ".*.keytab")))}
        doc["wire_facts"] = wire_facts(cap)
        doc["wire_facts"].update(spec.get("extra_wire_facts", {}))
        if "emulated" in spec:
            doc["emulated"] = spec["emulated"]
        with open(os.path.join(outdir, stem + ".expected.json"), "w") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        with open(os.path.join(outdir, stem + ".tshark.tsv"), "w") as fh:
            fh.write(tshark_fields(cap, TSV_FIELDS, TSV_FILTER, header=True))
        if frames_matching(cap, NTLM_FILTER):
            with open(os.path.join(outdir, stem + ".spnego-ntlm.tshark.tsv"), "w") as fh:
                fh.write(tshark_fields(cap, NTLM_FIELDS, NTLM_FILTER, header=True))
        print("expected.py: %s: %d finding(s), krb errors %s, http %s" % (
            os.path.basename(cap), len(doc["findings"]), doc["wire_facts"]["krb_error_codes"],
            doc["wire_facts"]["http_statuses"]))


if __name__ == "__main__":
    main()
