"""Ground truth of each lab scenario, written from how lab/run.sh builds it (not from kerbscope).

frame_filters are Wireshark display filters; expected.py turns them into frame numbers with tshark
(each filter must match at least one frame). The resulting `frames` are the evidence frames a
finding must cite (kerbscope may cite more).
"""
REALM = "LAB.TEST"
USER = "alice"
KDC = "198.51.100.2"
DNS = "198.51.100.3"
CLIENT = "198.51.100.10"
WEB1 = "198.51.100.20"
WEB2 = "198.51.100.21"
MID = "198.51.100.30"
BACK = "198.51.100.31"

ALL_KINDS = ["wrong_spn_cname", "krb_ap_err_modified", "missing_delegation", "spn_unknown",
             "kdc_error", "ntlm_fallback", "weak_encryption"]

VARIANTS = {
    "sll": "Linux cooked capture v1 (LINKTYPE_LINUX_SLL 113), tcpdump -i any in the client namespace",
    "sll2": "Linux cooked capture v2 (LINKTYPE_LINUX_SLL2 276), tcpdump -i any -y LINUX_SLL2 in the client namespace",
    "vlan": "802.1Q VLAN 100 tag added to every frame of the main capture with tcprewrite --enet-vlan=add",
    "pcapng": "the main capture rewritten as pcapng with editcap -F pcapng",
    "gz": "the main capture gzip-compressed",
}


def sn(name):
    """filter: a Kerberos message whose SNameString contains this component"""
    return 'kerberos.SNameString == "%s"' % name


SCENARIOS = {}

SCENARIOS["healthy"] = dict(
    description="Healthy Negotiate: kinit (AS-REQ, KDC_ERR_PREAUTH_REQUIRED, AS-REQ with PA-ENC-TIMESTAMP, AS-REP), "
                "curl --negotiate to http://web1.lab.test/: 401 Negotiate, TGS-REQ/TGS-REP for HTTP/web1.lab.test, "
                "GET with an SPNEGO AP-REQ, 200 with the AP-REP. Kerberos over UDP.",
    built_how="KDC has HTTP/web1.lab.test (kvno 2); Apache on web1 (198.51.100.20) uses a keytab with exactly that key. "
              "Client krb5.conf: dns_canonicalize_hostname=true, rdns=false, udp_preference_limit=1465 (default). "
              "kinit -f alice; curl --negotiate -u : http://web1.lab.test/.",
    server=WEB1, findings=[], must_not_find=ALL_KINDS,
)

NOTE_FRAMES = ("frames = every frame of the roles in frames_by_role except the context_* roles (all "
               "occurrences: MIT asks each TGS twice and curl retries). A finding should cite them; "
               "context_* frames are related traffic it may cite.")


def dns_cname(alias, canonical):
    return ('dns.flags.response == 1 && dns.qry.name == "%s" && dns.cname == "%s" && dns.a'
            % (alias, canonical))


def tgs_req_for(host):
    return 'kerberos.msg_type == 12 && %s' % sn(host)


def http_ap_req(host):
    return 'http.authorization && kerberos.msg_type == 14 && %s' % sn(host)


def http_krb_error(code):
    return 'http.www_authenticate && kerberos.error_code == %d' % code


HEALTHY_BASE = ("KDC has HTTP/web1.lab.test; Apache 2.4 + mod_auth_gssapi on web1 (198.51.100.20) uses a "
                "keytab with exactly that key. Client krb5.conf: dns_canonicalize_hostname=true, rdns=false. "
                "kinit -f alice (password, +requires_preauth); curl --anyauth -u : http://web1.lab.test/ "
                "(first request without credentials, as a browser does).")

SCENARIOS["healthy"].update(
    description="Healthy Negotiate over Kerberos-UDP: AS-REQ, KDC_ERR_PREAUTH_REQUIRED (25), AS-REQ with "
                "PA-ENC-TIMESTAMP, AS-REP; GET without credentials -> 401 Negotiate; TGS-REQ/TGS-REP for "
                "HTTP/web1.lab.test (FAST-armoured); GET with SPNEGO AP-REQ -> 200 with AP-REP.",
    built_how=HEALTHY_BASE + " udp_preference_limit=1465 (default).")

SCENARIOS["healthy_tcp"] = dict(
    description="Same as healthy, but the client speaks Kerberos over TCP/88 (4-byte record marks).",
    built_how=HEALTHY_BASE + " udp_preference_limit=1 in the client's krb5.conf.",
    server=WEB1, findings=[], must_not_find=ALL_KINDS)

SCENARIOS["alias_fixed_nocanon"] = dict(
    description="The alias fixed: intranet.lab.test is a CNAME of web1.lab.test, the service runs with the "
                "keytab of HTTP/intranet.lab.test, and the client does NOT canonicalise: it asks for "
                "HTTP/intranet.lab.test although DNS answered with the CNAME; 401 -> 200.",
    built_how="dnsmasq: cname=intranet.lab.test,web1.lab.test. Apache on web1 with a keytab holding only "
              "HTTP/intranet.lab.test. Client krb5.conf dns_canonicalize_hostname=false. kinit -f alice; "
              "curl --anyauth -u : http://intranet.lab.test/.",
    server=WEB1, findings=[], must_not_find=ALL_KINDS)

SCENARIOS["wrong_spn_cname_unknown"] = dict(
    description="Wrong SPN through a CNAME, canonical SPN does not exist: portal.lab.test is a CNAME of "
                "web2.lab.test; the service is registered as HTTP/portal.lab.test only; the canonicalising "
                "client asks for HTTP/web2.lab.test and the KDC answers KDC_ERR_S_PRINCIPAL_UNKNOWN (7), "
                "twice per attempt (MIT retries without the canonicalize option), and curl gives up after "
                "two rounds; the last HTTP status is 401.",
    built_how="dnsmasq: cname=portal.lab.test,web2.lab.test. KDC has HTTP/portal.lab.test but no "
              "HTTP/web2.lab.test. Apache on web2 (198.51.100.21) with the HTTP/portal.lab.test keytab. Client "
              "krb5.conf dns_canonicalize_hostname=true (as Windows browsers behave with CNAMEs), rdns=false. "
              "kinit -f alice; curl --anyauth -u : http://portal.lab.test/.",
    server=WEB2,
    findings=[
        dict(kind="wrong_spn_cname", severity="error", spn="HTTP/web2.lab.test", alias="portal.lab.test",
             canonical="web2.lab.test", cname_chain=["portal.lab.test", "web2.lab.test"],
             requested_spn="HTTP/web2.lab.test", expected_spn="HTTP/portal.lab.test", outcome="kdc_error",
             code=7, evidence_filters={
                 "dns_cname": dns_cname("portal.lab.test", "web2.lab.test"),
                 "tgs_req": tgs_req_for("web2.lab.test"),
                 "krb_error": "kerberos.error_code == 7",
                 "context_http_401": "http.response.code == 401"}),
        dict(kind="spn_unknown", severity="error", spn="HTTP/web2.lab.test", code=7, evidence_filters={
            "tgs_req": tgs_req_for("web2.lab.test"),
            "krb_error": "kerberos.error_code == 7"}),
    ],
    must_not_find=["krb_ap_err_modified", "missing_delegation", "ntlm_fallback", "weak_encryption",
                   "kdc_error"])

SCENARIOS["ntlm_fallback_cname"] = dict(
    description="As wrong_spn_cname_unknown (KDC_ERR_S_PRINCIPAL_UNKNOWN for HTTP/web2.lab.test, asked "
                "because portal.lab.test is a CNAME of web2.lab.test), but NTLMSSP is available on both "
                "sides: the client's SPNEGO drops krb5 and sends NTLMSSP NEGOTIATE/AUTHENTICATE inside "
                "Negotiate, which the server accepts: 401, 401 (CHALLENGE), 200.",
    built_how="Like wrong_spn_cname_unknown, plus gss-ntlmssp on client and server (NTLM_USER_FILE with "
              "LAB:alice:<password>). The web service on web2 is lab/hop1.py --hop2 none --default-creds "
              "(python3-gssapi accepting SPNEGO with GSS_C_NO_CREDENTIAL: krb5 via KRB5_KTNAME = "
              "HTTP/portal.lab.test keytab, NTLMSSP via NTLM_USER_FILE) because Apache mod_auth_gssapi 1.6.4 "
              "crashed (SIGSEGV) on the NTLMSSP token. curl --anyauth -u : http://portal.lab.test/.",
    server=WEB2,
    findings=[
        dict(kind="wrong_spn_cname", severity="error", spn="HTTP/web2.lab.test", alias="portal.lab.test",
             canonical="web2.lab.test", cname_chain=["portal.lab.test", "web2.lab.test"],
             requested_spn="HTTP/web2.lab.test", expected_spn="HTTP/portal.lab.test",
             outcome="ntlm_fallback", code=7, evidence_filters={
                 "dns_cname": dns_cname("portal.lab.test", "web2.lab.test"),
                 "tgs_req": tgs_req_for("web2.lab.test"),
                 "krb_error": "kerberos.error_code == 7",
                 "ntlm": "ntlmssp.messagetype == 0x00000001 || ntlmssp.messagetype == 0x00000003"}),
        dict(kind="spn_unknown", severity="error", spn="HTTP/web2.lab.test", code=7, evidence_filters={
            "tgs_req": tgs_req_for("web2.lab.test"),
            "krb_error": "kerberos.error_code == 7"}),
        dict(kind="ntlm_fallback", severity="warning", server_name="portal.lab.test",
             server="198.51.100.21:80", user="LAB\\alice", evidence_filters={
                 "ntlm_negotiate": "ntlmssp.messagetype == 0x00000001",
                 "ntlm_challenge": "ntlmssp.messagetype == 0x00000002",
                 "ntlm_authenticate": "ntlmssp.messagetype == 0x00000003",
                 "context_http_200": "http.response.code == 200"}),
    ],
    must_not_find=["krb_ap_err_modified", "missing_delegation", "weak_encryption", "kdc_error"])


def ap_err(code, name, spn_host, kvno, causes):
    return dict(kind="krb_ap_err_modified", severity="error", code=code, code_name=name,
                spn="HTTP/%s" % spn_host, ticket_etype=18, ticket_kvno=kvno, transport="http",
                likely_causes_hint=causes, evidence_filters={
                    "ap_req": http_ap_req(spn_host),
                    "ap_error": http_krb_error(code),
                    "context_tgs_req": tgs_req_for(spn_host)})


OTHER_ACCOUNT_DESC = (
    "Wrong SPN through a CNAME, canonical SPN belongs to another key: intranet.lab.test is a CNAME of "
    "web1.lab.test; the intranet app on web1 runs with the keytab of HTTP/intranet.lab.test only, while "
    "HTTP/web1.lab.test exists in the KDC with web1's own key. The canonicalising client gets a ticket "
    "for HTTP/web1.lab.test; Apache/MIT cannot find that principal in its keytab and answers 401 with "
    "an SPNEGO reject carrying KRB-ERROR %s (Windows would send 41 KRB_AP_ERR_MODIFIED here).")
OTHER_ACCOUNT_BUILT = (
    "dnsmasq: cname=intranet.lab.test,web1.lab.test. KDC has HTTP/intranet.lab.test and "
    "HTTP/web1.lab.test (different random keys). Apache on web1 with GssapiCredStore keytab = "
    "HTTP/intranet.lab.test only (no GssapiAcceptorName: any keytab principal accepted). Client "
    "dns_canonicalize_hostname=true, rdns=false. kinit -f alice; curl --anyauth -u : http://intranet.lab.test/. "
    "Apache log: 'Request ticket server HTTP/web1.lab.test@LAB.TEST not found in keytab (ticket kvno 2)'.")

SCENARIOS["wrong_spn_cname_other_account"] = dict(
    description=OTHER_ACCOUNT_DESC % "35 KRB_AP_ERR_NOT_US",
    built_how=OTHER_ACCOUNT_BUILT, server=WEB1,
    findings=[
        dict(kind="wrong_spn_cname", severity="error", spn="HTTP/web1.lab.test", alias="intranet.lab.test",
             canonical="web1.lab.test", cname_chain=["intranet.lab.test", "web1.lab.test"],
             requested_spn="HTTP/web1.lab.test", expected_spn="HTTP/intranet.lab.test", outcome="ap_error",
             code=35, evidence_filters={
                 "dns_cname": dns_cname("intranet.lab.test", "web1.lab.test"),
                 "tgs_req": tgs_req_for("web1.lab.test"),
                 "ap_req": http_ap_req("web1.lab.test"),
                 "ap_error": http_krb_error(35)}),
        ap_err(35, "KRB_AP_ERR_NOT_US", "web1.lab.test", "{kdc_kvno}",
               ["wrong SPN requested (CNAME canonicalised)", "SPN not in the service's keytab"]),
    ],
    must_not_find=["spn_unknown", "missing_delegation", "ntlm_fallback", "weak_encryption", "kdc_error"])

SCENARIOS["wrong_spn_cname_other_account_emulated41"] = dict(
    SCENARIOS["wrong_spn_cname_other_account"],
    description="EMULATED. " + OTHER_ACCOUNT_DESC % "41 KRB_AP_ERR_MODIFIED (rewritten, see emulated)",
    emulated="Made from wrong_spn_cname_other_account.pcap by lab/emulate41.py: the DER INTEGER error-code "
             "of the real MIT KRB-ERROR (35) inside the SPNEGO negTokenResp of the HTTP 401 was changed to "
             "41 (one byte, same length, base64 re-encoded, TCP checksum recomputed). Everything else is "
             "the real capture. MIT never sends 41.",
    findings=[
        dict(SCENARIOS["wrong_spn_cname_other_account"]["findings"][0], code=41, evidence_filters={
            "dns_cname": dns_cname("intranet.lab.test", "web1.lab.test"),
            "tgs_req": tgs_req_for("web1.lab.test"),
            "ap_req": http_ap_req("web1.lab.test"),
            "ap_error": http_krb_error(41)}),
        ap_err(41, "KRB_AP_ERR_MODIFIED", "web1.lab.test", "{kdc_kvno}",
               ["wrong SPN requested (CNAME canonicalised)", "ticket encrypted for another account"]),
    ])

SCENARIOS["stale_keytab_kvno"] = dict(
    description="Stale keytab: the key of HTTP/web1.lab.test was rotated on the KDC (kvno 2 -> 3) but Apache "
                "still uses the keytab with kvno 2. The ticket (kvno 3) is rejected with an SPNEGO reject "
                "carrying KRB-ERROR 44 KRB_AP_ERR_BADKEYVER in the HTTP 401.",
    built_how="HTTP/web1.lab.test re-created (kvno 2 after ktadd), keytab copied, then ktadd again (new "
              "random key, kvno 3) into the current keytab; Apache on web1 started with the copy (kvno 2). "
              "Client connects to web1.lab.test directly (no CNAME). Apache log: 'Request ticket server "
              "HTTP/web1.lab.test@LAB.TEST kvno 3 not found in keytab; keytab is likely out of date'.",
    server=WEB1,
    findings=[ap_err(44, "KRB_AP_ERR_BADKEYVER", "web1.lab.test", "{kdc_kvno}",
                     ["stale keytab (password/key changed, keytab not re-exported)"])],
    must_not_find=["wrong_spn_cname", "spn_unknown", "missing_delegation", "ntlm_fallback",
                   "weak_encryption", "kdc_error"])

SCENARIOS["key_mismatch_same_kvno"] = dict(
    description="Key mismatch with the same kvno (the MIT analogue of a duplicate SPN / re-created account): "
                "the KDC's key for HTTP/web1.lab.test has the same kvno as Apache's keytab but is a "
                "different key. Rejected with KRB-ERROR 31 KRB_AP_ERR_BAD_INTEGRITY inside the HTTP 401.",
    built_how="Keytab of HTTP/web1.lab.test (kvno 2) kept for Apache; then the principal was deleted and "
              "re-created with a new random key and ktadd repeated until the KDC's kvno equals the old "
              "keytab's kvno (2). Apache log: 'Request ticket server HTTP/web1.lab.test@LAB.TEST kvno 2 "
              "enctype aes256-cts found in keytab but cannot decrypt ticket'. (MIT's database cannot hold "
              "the same SPN on two accounts, so a literal duplicate SPN cannot be built with MIT.)",
    server=WEB1,
    findings=[ap_err(31, "KRB_AP_ERR_BAD_INTEGRITY", "web1.lab.test", "{kdc_kvno}",
                     ["keytab key differs from the KDC's (re-created account, duplicate SPN, wrong password)"])],
    must_not_find=["wrong_spn_cname", "spn_unknown", "missing_delegation", "ntlm_fallback",
                   "weak_encryption", "kdc_error"])

SCENARIOS["key_mismatch_same_kvno_emulated41"] = dict(
    SCENARIOS["key_mismatch_same_kvno"],
    description="EMULATED. key_mismatch_same_kvno with the error code rewritten to 41 KRB_AP_ERR_MODIFIED, "
                "what a Windows service sends for a ticket encrypted with another key.",
    emulated="Made from key_mismatch_same_kvno.pcap by lab/emulate41.py: the DER INTEGER error-code of the "
             "real MIT KRB-ERROR (31) inside the SPNEGO negTokenResp of the HTTP 401 was changed to 41 (one "
             "byte, same length, base64 re-encoded, TCP checksum recomputed). MIT never sends 41.",
    findings=[ap_err(41, "KRB_AP_ERR_MODIFIED", "web1.lab.test", "{kdc_kvno}",
                     ["duplicate SPN / ticket for another account's key", "stale keytab"])])

SCENARIOS["spn_missing_from_keytab"] = dict(
    description="SPN missing from the service keytab: Apache on web1 runs with a keytab holding only "
                "HTTP/other.lab.test. The client asks for and gets a ticket for HTTP/web1.lab.test (no "
                "CNAME involved); Apache answers 401 with KRB-ERROR 35 KRB_AP_ERR_NOT_US.",
    built_how="Apache on web1, GssapiCredStore keytab = HTTP/other.lab.test only, no GssapiAcceptorName. "
              "Apache log: 'Request ticket server HTTP/web1.lab.test@LAB.TEST not found in keytab (ticket "
              "kvno N)'. MIT answers 45 KRB_AP_ERR_NOKEY only when an explicit acceptor name is missing "
              "from the keytab; mod_auth_gssapi then fails already when acquiring its credential.",
    server=WEB1,
    findings=[ap_err(35, "KRB_AP_ERR_NOT_US", "web1.lab.test", "{kdc_kvno}",
                     ["SPN not in the service's keytab", "keytab of another service deployed"])],
    must_not_find=["wrong_spn_cname", "spn_unknown", "missing_delegation", "ntlm_fallback",
                   "weak_encryption", "kdc_error"])

DELEG_BASE = ("Double hop: client 198.51.100.10 -> hop 1 http://mid.lab.test/ (198.51.100.30, lab/hop1.py: "
              "python3-gssapi Negotiate server, keytab HTTP/mid.lab.test) -> hop 2 http://back.lab.test/ "
              "(198.51.100.31, Apache + mod_auth_gssapi, keytab HTTP/back.lab.test). Hop 1 first calls hop 2 "
              "without credentials; on 401 Negotiate it authenticates as the user if it holds a credential "
              "of the user, otherwise it answers the client 502. ")

SCENARIOS["delegation_ok"] = dict(
    description="Delegation that works: the client forwards its TGT (TGS-REQ for krbtgt with the FORWARDED "
                "option, KRB-CRED inside the AP-REQ authenticator); hop 1 uses it to get a ticket for "
                "HTTP/back.lab.test (TGS-REQ from 198.51.100.30 with cname alice) and hop 2 answers 200; "
                "hop 1 answers the client 200.",
    built_how=DELEG_BASE + "kinit -f alice; curl --anyauth -u : --delegation always http://mid.lab.test/.",
    server=MID, first_hop="198.51.100.30:80", second_hop="198.51.100.31:80",
    findings=[], must_not_find=ALL_KINDS)


def deleg_missing(mechanism, extra_roles, code=None):
    roles = {
        "ap_req_first_hop": 'ip.dst == %s && %s' % (MID, 'http.authorization && kerberos.msg_type == 14'),
        "second_hop_unauthenticated": 'ip.src == %s && ip.dst == %s && http.request && !http.authorization'
                                      % (MID, BACK),
        "second_hop_401": 'ip.src == %s && ip.dst == %s && http.response.code == 401' % (BACK, MID),
        "first_hop_502": 'ip.src == %s && http.response.code == 502' % MID,
    }
    roles.update(extra_roles)
    f = dict(kind="missing_delegation", severity="error", first_hop="198.51.100.30:80",
             second_hop="198.51.100.31:80", first_hop_spn="HTTP/mid.lab.test",
             second_hop_spn="HTTP/back.lab.test", mechanism=mechanism, evidence_filters=roles)
    if code:
        f["code"] = code
    return f


SCENARIOS["delegation_missing_nodeleg"] = dict(
    description="Delegation missing, client does not delegate: the TGT is forwardable but curl runs with "
                "--delegation none (its default), so no forwarded TGT is requested or sent; hop 1 has no "
                "credential of the user, calls hop 2 without Authorization, gets 401 and answers 502.",
    built_how=DELEG_BASE + "kinit -f alice; curl --anyauth -u : http://mid.lab.test/ (no --delegation).",
    server=MID, first_hop="198.51.100.30:80", second_hop="198.51.100.31:80",
    findings=[deleg_missing("no_forwarded_tgt", {})],
    acceptable_mechanisms=["no_forwarded_tgt", "unauthenticated_second_hop"],
    must_not_find=["wrong_spn_cname", "krb_ap_err_modified", "spn_unknown", "ntlm_fallback",
                   "weak_encryption", "kdc_error"])

SCENARIOS["delegation_missing_not_forwardable"] = dict(
    description="Delegation missing, TGT not forwardable: kinit -F (forwardable=false); curl asks to "
                "delegate (--delegation always), so MIT requests a forwarded TGT (TGS-REQ for krbtgt with "
                "FORWARDED) and the KDC refuses twice with KDC_ERR_BADOPTION (13, e-text 'TGT NOT "
                "FORWARDABLE'); the AP-REQ goes without a forwarded TGT; hop 1 calls hop 2 without "
                "Authorization, gets 401, answers 502.",
    built_how=DELEG_BASE + "Client krb5.conf forwardable=false; kinit -F alice; curl --anyauth -u : "
              "--delegation always http://mid.lab.test/.",
    server=MID, first_hop="198.51.100.30:80", second_hop="198.51.100.31:80",
    findings=[deleg_missing("no_forwarded_tgt", {
        "forwarded_tgt_req": 'kerberos.msg_type == 12 && kerberos.KDCOptions.forwarded == 1',
        "krb_error": 'kerberos.error_code == 13'}, code=13)],
    optional_findings=[dict(kind="kdc_error", severity="warning", code=13, name="KDC_ERR_BADOPTION",
                            evidence_filters={"krb_error": 'kerberos.error_code == 13'})],
    acceptable_mechanisms=["no_forwarded_tgt", "unauthenticated_second_hop"],
    must_not_find=["wrong_spn_cname", "krb_ap_err_modified", "spn_unknown", "ntlm_fallback",
                   "weak_encryption"])

SCENARIOS["s4u2proxy_refused"] = dict(
    description="S4U2Proxy refused: the client does not delegate; hop 1 holds an acceptor credential with "
                "usage 'both' (keytab + client keytab + ccache), so MIT gives it an S4U2Proxy credential "
                "and hop 1 sends a TGS-REQ for HTTP/back.lab.test with the constrained-delegation "
                "(cname-in-addl-tkt) option and alice's ticket to HTTP/mid.lab.test as additional ticket. "
                "The MIT KDC with the DB2 backend refuses: KDC_ERR_BADOPTION (13), e-text "
                "'UNSUPPORTED_S4U2PROXY_REQUEST'. Hop 1 answers 502.",
    built_how=DELEG_BASE + "hop1.py --s4u (gssapi.Credentials(usage='both', store={keytab, client_keytab, "
              "ccache})). KDC: MIT krb5kdc 1.20 with the DB2 KDB (constrained delegation needs the LDAP "
              "backend's krbAllowedToDelegateTo). kinit -f alice; curl --anyauth -u : http://mid.lab.test/.",
    server=MID, first_hop="198.51.100.30:80", second_hop="198.51.100.31:80",
    findings=[deleg_missing("s4u2proxy_refused", {
        "s4u2proxy_tgs_req": 'kerberos.msg_type == 12 && kerberos.KDCOptions.constrained.delegation == 1',
        "krb_error": 'kerberos.error_code == 13'}, code=13)],
    optional_findings=[dict(kind="kdc_error", severity="warning", code=13, name="KDC_ERR_BADOPTION",
                            evidence_filters={"krb_error": 'kerberos.error_code == 13'})],
    must_not_find=["wrong_spn_cname", "krb_ap_err_modified", "spn_unknown", "ntlm_fallback",
                   "weak_encryption"])

SCENARIOS["spn_missing_acceptor_silent"] = dict(
    description="SPN missing from the keytab with an explicit acceptor name: the AP-REQ for "
                "HTTP/web1.lab.test is answered with a bare '401 WWW-Authenticate: Negotiate' (no token): "
                "no KRB-ERROR is on the wire at all. This is how an MIT/Apache service can fail silently; "
                "the ticket's sname and the missing AP-REP are the only wire evidence.",
    built_how="Apache on web1, GssapiCredStore keytab = HTTP/other.lab.test only, GssapiAcceptorName "
              "HTTP@web1.lab.test. mod_auth_gssapi cannot acquire its acceptor credential; Apache log: "
              "'gss_accept_sec_context() failed: ... SPNEGO cannot find mechanisms to negotiate'. "
              "kinit -f alice; curl --anyauth -u : http://web1.lab.test/.",
    server=WEB1, findings=[],
    optional_findings=[dict(kind="krb_ap_err_modified", severity="error", spn="HTTP/web1.lab.test",
                            transport="http", code=None,
                            comment="a tool may report the rejected AP-REQ (401 without a token after an "
                                    "AP-REQ); no error code exists on the wire",
                            evidence_filters={"ap_req": http_ap_req("web1.lab.test"),
                                              "context_http_401": "http.response.code == 401"})],
    must_not_find=["wrong_spn_cname", "spn_unknown", "missing_delegation", "ntlm_fallback",
                   "weak_encryption", "kdc_error"])

# ------------------------------------------------------------------ issue 10: SMB and LDAP second hops
SMB_DELEG_BASE = (
    "Double hop to a file server: client 198.51.100.10 -> hop 1 http://mid.lab.test/ (198.51.100.30, "
    "lab/hop1.py: python3-gssapi Negotiate server, keytab HTTP/mid.lab.test) -> hop 2 "
    "\\\\back.lab.test\\share (198.51.100.31:445, Samba 4.17 smbd standalone: security = user, "
    "kerberos method = dedicated keytab with cifs/back.lab.test from the MIT KDC, realm LAB.TEST, no "
    "winbind, no AD; the principal has +no_auth_data_required because MIT 1.20 adds a PAC that a "
    "standalone smbd rejects; alice@LAB.TEST maps to a local account alice of the ks-back namespace; "
    "share readable by alice only, guest ok = no, restrict anonymous = 2). Hop 1 runs Samba's "
    "smbclient 4.17 -c ls against the share: with the user's delegated credential (stored into a "
    "ccache, KRB5CCNAME) as `smbclient --use-kerberos=required`, without one as `smbclient -N`. "
    "Hop 1 answers the client 200 if the listing worked, 502 otherwise. ")


def smb_setup(src, dst, extra=""):
    return "ip.src == %s && ip.dst == %s && smb2.cmd == 1%s" % (src, dst, extra)


SCENARIOS["delegation_ok_smb"] = dict(
    description="Delegation to an SMB second hop that works: the client forwards its TGT (TGS-REQ for "
                "krbtgt with FORWARDED, KRB-CRED in the AP-REQ authenticator); hop 1 stores it and runs "
                "smbclient --use-kerberos=required: TGS-REQ from 198.51.100.30 for cifs/back.lab.test as "
                "alice, SMB2 SESSION_SETUP with a SPNEGO krb5 AP-REQ, answered STATUS_SUCCESS with the "
                "AP-REP in one leg; tree connect and a directory listing of the share succeed; hop 1 "
                "answers the client 200.",
    built_how=SMB_DELEG_BASE + "kinit -f alice; curl --anyauth -u : --delegation always http://mid.lab.test/. "
              "smbd log: 'signed connect to service share initially as user alice'.",
    server=MID, first_hop="198.51.100.30:80", second_hop="198.51.100.31:445",
    findings=[], must_not_find=ALL_KINDS,
    extra_wire_facts={"second_hop_transport": "smb"})

SCENARIOS["delegation_missing_smb"] = dict(
    description="Delegation to an SMB second hop missing: curl does not delegate (no --delegation), so hop "
                "1 accepts alice with Kerberos but holds no credential of hers. It runs smbclient -N "
                "(nothing of the user's): the SMB2 SESSION_SETUP carries no Kerberos at all but NTLMSSP: "
                "first as hop 1's own Unix account name (LAB\\root, no password) -> STATUS_LOGON_FAILURE, "
                "then an anonymous (NULL user) NTLMSSP session -> STATUS_SUCCESS; both tree connects "
                "(IPC$ and share) -> STATUS_ACCESS_DENIED; hop 1 answers the client 502.",
    built_how=SMB_DELEG_BASE + "kinit -f alice; curl --anyauth -u : http://mid.lab.test/ (no --delegation). "
              "smbd log: 'Authentication for user [root] -> [root] FAILED with error NT_STATUS_NO_SUCH_USER', "
              "'guest user (from session setup) not permitted to access this share'.",
    server=MID, first_hop="198.51.100.30:80", second_hop="198.51.100.31:445",
    findings=[dict(kind="missing_delegation", severity="error", first_hop="198.51.100.30:80",
                   second_hop="198.51.100.31:445", first_hop_spn="HTTP/mid.lab.test",
                   second_hop_spn="cifs/back.lab.test", mechanism="no_forwarded_tgt", evidence_filters={
                       "ap_req_first_hop": 'ip.dst == %s && http.authorization && kerberos.msg_type == 14'
                                           % MID,
                       "second_hop_ntlm": smb_setup(MID, BACK, " && ntlmssp"),
                       "second_hop_session_setup_answer": smb_setup(BACK, MID, " && smb2.flags.response == 1"),
                       "first_hop_502": 'ip.src == %s && http.response.code == 502' % MID,
                       "context_smb_negotiate": 'smb2.cmd == 0',
                       "context_tree_connect_denied": 'smb2.cmd == 3 && smb2.nt_status == 0xc0000022'})],
    acceptable_mechanisms=["no_forwarded_tgt", "ntlm_second_hop", "unauthenticated_second_hop"],
    optional_findings=[dict(kind="ntlm_fallback", severity="warning", server="198.51.100.31:445",
                            comment="hop 1 used NTLMSSP (own account name, then anonymous) towards an SMB "
                                    "server whose SPNEGO hint offers krb5; it is the symptom of the missing "
                                    "delegation, not a separate fault, so a tool may or may not report it",
                            evidence_filters={"ntlm": smb_setup(MID, BACK, " && ntlmssp")})],
    must_not_find=["wrong_spn_cname", "krb_ap_err_modified", "spn_unknown", "weak_encryption", "kdc_error"],
    extra_wire_facts={"second_hop_transport": "smb"})

LDAP_BASE = ("Hop 2 is a directory: OpenLDAP slapd 2.5.13 on back.lab.test (198.51.100.31:389) with SASL/GSSAPI "
             "(cyrus-sasl 2.1.28 GSSAPI plugin on MIT krb5 1.20; sasl-host back.lab.test, sasl-realm LAB.TEST; "
             "service principal ldap/back.lab.test from KRB5_KTNAME; empty mdb database dc=lab,dc=test). "
             "The SASL GSSAPI mechanism carries raw GSS-API krb5 tokens (no SPNEGO) in LDAP bindRequest/"
             "bindResponse (saslBindInProgress, then the SASL security-layer negotiation wrapped with the "
             "context keys). ")

SCENARIOS["delegation_ok_ldap"] = dict(
    description="Delegation to an LDAP second hop that works: the client forwards its TGT; hop 1 stores it "
                "and runs ldapwhoami -Y GSSAPI -H ldap://back.lab.test: TGS-REQ from 198.51.100.30 for "
                "ldap/back.lab.test as alice, LDAP SASL bind (mechanism GSSAPI) with the krb5 AP-REQ -> "
                "saslBindInProgress with the AP-REP -> two more legs (security layer) -> success; the "
                "WhoAmI extended operation then runs inside the SASL security layer; hop 1 answers 200.",
    built_how=DELEG_BASE.split("-> hop 2")[0] + "-> hop 2 ldap://back.lab.test. " + LDAP_BASE +
              "Hop 1 runs ldapwhoami -Y GSSAPI with the delegated credential stored into a ccache "
              "(KRB5CCNAME) and answers 200 when it prints dn:uid=alice,... kinit -f alice; curl --anyauth "
              "-u : --delegation always http://mid.lab.test/.",
    server=MID, first_hop="198.51.100.30:80", second_hop="198.51.100.31:389",
    findings=[], must_not_find=ALL_KINDS,
    extra_wire_facts={"second_hop_transport": "ldap"})

SCENARIOS["key_mismatch_ldap"] = dict(
    description="Key mismatch with the same kvno on an LDAP server: the KDC's key for ldap/back.lab.test "
                "has the same kvno as slapd's keytab but is a different key. The client binds directly "
                "with SASL/GSSAPI: TGS-REQ/TGS-REP for ldap/back.lab.test, bindRequest (mechanism GSSAPI) "
                "with the AP-REQ, answered by a bindResponse invalidCredentials (49) with diagnostic "
                "'SASL(-13): authentication failure: GSSAPI Failure: gss_accept_sec_context' and NO "
                "serverSaslCreds: cyrus-sasl drops the KRB-ERROR 31 that MIT's gss_accept_sec_context "
                "produced, so no Kerberos error code is on the wire (slapd log: 'Request ticket server "
                "ldap/back.lab.test@LAB.TEST kvno 2 enctype aes256-cts found in keytab but cannot decrypt "
                "ticket'). The kdc/service keytabs prove the cause (the ticket decrypts with the KDC's "
                "key, not with slapd's).",
    built_how=LDAP_BASE + "ldap/back.lab.test keytab (kvno 2) kept for slapd; then the principal was deleted "
              "and re-created with a new random key and ktadd repeated until the KDC's kvno equals the old "
              "keytab's (2). Client: kinit -f alice; LDAPNOINIT=1 ldapwhoami -Y GSSAPI -H ldap://back.lab.test "
              "(exit 49).",
    server=BACK,
    findings=[dict(kind="krb_ap_err_modified", severity="error", spn="ldap/back.lab.test",
                            transport="ldap", code=None, ticket_etype=18, ticket_kvno="{kdc_kvno}",
                            comment="the LDAP server rejected the AP-REQ (invalidCredentials, 'GSSAPI "
                                    "Failure: gss_accept_sec_context') but no KRB-ERROR and so no code is on "
                                    "the wire: the finding names the rejected AP-REQ without a code (issue 10: "
                                    "an LDAP failure that follows a Kerberos AP-REQ is this fault)",
                            evidence_filters={
                                "ap_req": 'ldap.protocolOp == 0 && kerberos.msg_type == 14 && %s'
                                          % sn("back.lab.test"),
                                "bind_failure": 'ldap.protocolOp == 1 && ldap.resultCode == 49',
                                "context_tgs_req": tgs_req_for("back.lab.test")})],
    optional_findings=[],
    must_not_find=["wrong_spn_cname", "spn_unknown", "missing_delegation", "ntlm_fallback",
                   "weak_encryption", "kdc_error"])
