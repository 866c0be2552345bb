#!/usr/bin/env python3
"""Compares a `kerbscope analyze --format json` report with a corpus truth file written by
tools/gencorpus: every embedded finding must be reported (same kind, sharing at least one frame
with the embedding's evidence), and no error-severity finding may appear that matches neither
an embedded finding nor an optional one. Usage: check_truth.py TRUTH.json REPORT.json"""
import json
import sys


def main():
    truth = json.load(open(sys.argv[1]))
    report = json.load(open(sys.argv[2]))
    found = report.get("findings", [])
    expected, optional = [], []
    for emb in truth["embeddings"]:
        for f in emb.get("findings", []):
            expected.append((emb["scenario"], emb["round"], f))
        for f in emb.get("optional_findings", []):
            optional.append(f)

    def overlaps(a, b):
        return a["kind"] == b["kind"] and set(a.get("frames", [])) & set(b.get("frames", []))

    missing = [(s, r, f) for s, r, f in expected if not any(overlaps(f, g) for g in found)]
    extra = [
        g for g in found
        if g.get("severity") == "error"
        and not any(overlaps(f, g) for _, _, f in expected)
        and not any(overlaps(f, g) for f in optional)
    ]
    print(f"truth check: {len(expected) - len(missing)}/{len(expected)} embedded findings found, "
          f"{len(extra)} extra error findings ({len(found)} findings reported)")
    for s, r, f in missing:
        print(f"  MISSING {f['kind']} ({s}, round {r}) frames {f.get('frames')}")
    for g in extra:
        print(f"  EXTRA {g['kind']} frames {g.get('frames', [])[:8]}: {g.get('summary', '')}")
    sys.exit(1 if missing or extra else 0)


if __name__ == "__main__":
    main()
