#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""fmtcheck: the rule texts fwmapgen writes into bg_fw_rtext, checked by
parsing them again.

usage: fmtcheck.py roundtrip --fwmapgen PATH --workdir DIR [--seeds N]
                   [--first-seed S] [--ifaces A,B]
       fmtcheck.py texts --fwmapgen PATH RULESET
       fmtcheck.py check --fwmapgen PATH --workdir DIR RULESET
       fmtcheck.py gen --seed S [--ifaces A,B]

roundtrip: for each seed, a random ruleset (randfw.gen_ruleset: tables,
negation, lists, ports, every field) dressed up the way people write
rulesets (macros, labels, blanks and tabs, commas left out, a rule over
two lines, comments, "proto 6", upper-case MAC addresses), compiled; the
text of every rule decoded from the bg_fw_rtext lines of the batch (the
layout from bg-abi); then the same file with every rule replaced, at its
line, by its text. Both must have the same digest (the SHA-256 of all
they compile to: classifier, rule information and the texts themselves,
so the texts must also come out the same). Prints one line per seed;
exits 1 with both rulesets on the first difference.

check: roundtrip's check on RULESET as it is (no dressing up): prints
the number of rules whose texts compile back to the same digest; exits 1
with the difference otherwise.

texts: the texts of RULESET's batch, one JSON object {"ID": {"text",
"cut", "len"}}.

gen: the dressed-up random ruleset of seed S, as roundtrip makes it.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import abi  # noqa: E402
import randfw  # noqa: E402


def batch_maps(batch_text, name):
    """(key bytes, value bytes) of each "map update" line of map NAME."""
    out = []
    for line in batch_text.splitlines():
        w = line.split()
        if len(w) < 4 or w[:3] != ["map", "update", "pinned"]:
            continue
        if os.path.basename(w[3]) != name:
            continue
        k, v = w.index("key"), w.index("value")
        out.append((bytes.fromhex("".join(w[k + 2:v])),
                    bytes.fromhex("".join(w[v + 2:]))))
    return out


def key_id(key):
    return abi.unpack("bg_fw_rinfo_key", key)["id"]


def texts_of(batch_text):
    """{id: {"text", "cut", "len"}} from the bg_fw_rtext lines."""
    cut = abi.enum("bg_fw_rtext_flags")["BG_FW_RTEXT_F_CUT"]
    out = {}
    for k, v in batch_maps(batch_text, "bg_fw_rtext"):
        t = abi.unpack("bg_fw_rtext", v)
        out[key_id(k)] = {"text": t["text"], "cut": bool(t["flags"] & cut),
                          "len": t["len"]}
    return out


def lines_of(batch_text):
    """{id: line} from the bg_fw_rinfo lines."""
    return {key_id(k): abi.unpack("bg_fw_rinfo", v)["line"]
            for k, v in batch_maps(batch_text, "bg_fw_rinfo")}


class Failed(Exception):
    pass


def fwmapgen_run(fwmapgen, workdir, *args):
    """fwmapgen ARGS in WORKDIR (the ruleset's path is in the digest, so
    both rulesets are r.rules, each in a directory of its own)."""
    p = subprocess.run([os.path.abspath(fwmapgen)] + list(args), cwd=workdir,
                       capture_output=True, text=True)
    if p.returncode:
        raise Failed("fwmapgen %s in %s: %s" % (" ".join(args), workdir,
                                                p.stderr.strip()))
    return p.stdout


def compile_batch(fwmapgen, workdir):
    return fwmapgen_run(fwmapgen, workdir, "--pin-dir", "/p", "r.rules")


def digest(fwmapgen, workdir):
    return fwmapgen_run(fwmapgen, workdir, "--digest", "r.rules").strip()


# Label text: printable ASCII but '"' (no escapes in strings), including
# what is special outside quotes.
LABEL_CHARS = "".join(chr(c) for c in range(0x20, 0x7f) if chr(c) != '"')


DSCP_NAMES = ["ef"] + ["cs%d" % i for i in range(8)] + \
    ["af%d%d" % (x, y) for x in range(1, 5) for y in range(1, 4)]


def blanks(rng):
    return rng.choice([" ", " ", " ", "  ", "\t", " \t "])


def respace(rng, line):
    """Other blanks between words, none inside some lists, commas left out
    of some lists (they are optional between items)."""
    words = line.split(" ")
    drop_commas = rng.random() < 0.3
    out = words[0]
    for w in words[1:]:
        if drop_commas and out.endswith(",") and rng.random() < 0.5:
            out = out[:-1] + blanks(rng) + w
            continue
        tight = out.endswith(("{", ",")) or w == "}"
        out += ("" if tight and rng.random() < 0.4 else blanks(rng)) + w
    return out


def dress_rule(rng, line, macros):
    """One generated rule as a person might have written it: a list of
    physical lines (macro definitions first)."""
    if rng.random() < 0.3:
        line = line.replace("proto tcp", "proto 6").replace("proto udp",
                                                             "proto 17")
    line = re.sub(r"\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b",
                  lambda m: m.group(0).upper() if rng.random() < 0.5
                  else m.group(0), line)
    # every DSCP value, by number or by name (randfw draws from a few)
    line = re.sub(r"\bdscp \S+", lambda m: "dscp %s" % rng.choice(
        [str(rng.randrange(64)), rng.choice(DSCP_NAMES)]), line)
    pre = []
    words = line.split(" ")
    if len(words) > 2 and rng.random() < 0.3:
        # a macro for some words after the action
        i = rng.randrange(1, len(words))
        j = rng.randrange(i, min(len(words), i + 4)) + 1
        name = "M%d" % len(macros)
        macros.append(name)
        pre.append('%s = "%s"' % (name, " ".join(words[i:j])))
        words[i:j] = ["$" + name]
    line = respace(rng, " ".join(words))
    if rng.random() < 0.3:
        n = rng.randint(0, 63)
        line += ' label "%s"' % "".join(rng.choice(LABEL_CHARS)
                                        for _ in range(n))
    phys = [line]
    # continue on a second line, at a blank outside the label
    body = line.split(' label "')[0]
    cuts = [m.start() for m in re.finditer(r"[ \t]", body)]
    if cuts and rng.random() < 0.2:
        c = rng.choice(cuts)
        phys = [line[:c] + " \\", line[c:]]
    if rng.random() < 0.15:
        phys[-1] += blanks(rng) + "# a comment, with \"quotes\" and \\"
    return pre + phys


def dress(rng, text):
    """The generated ruleset, dressed up; rule lines are those starting
    with pass or block."""
    out, macros = [], []
    for line in text.splitlines():
        if line.startswith(("pass", "block")):
            out += dress_rule(rng, line, macros)
        else:
            out.append(line)
        if rng.random() < 0.05:
            out.append(rng.choice(["", "# comment", "   "]))
    return "\n".join(out) + "\n"


def continues(line):
    """The physical line ends in a continuation backslash: outside quotes,
    before a comment, blanks after it allowed (as fwmapgen's lexer)."""
    inq = False
    for i, c in enumerate(line):
        if c == '"':
            inq = not inq
        elif c == "#" and not inq:
            line = line[:i]
            break
    return line.rstrip(" \t\r\f\v").endswith("\\")


def rebuild(text, lines, texts):
    """TEXT with the physical lines of each rule (it starts on
    lines[id], continues while a line ends in a backslash) replaced by its
    text and blank lines, so every line number stays."""
    phys = text.split("\n")
    for rid, start in lines.items():
        i = start - 1
        span = 1
        while continues(phys[i + span - 1]):
            span += 1
        phys[i:i + span] = [texts[rid]["text"]] + [""] * (span - 1)
    return "\n".join(phys)


def gen(seed, ifaces):
    rng = random.Random(seed)
    random.seed(seed)  # randfw.fmt draws from the module's generator
    return dress(rng, randfw.gen_ruleset(rng, ifaces))


def check_seed(args, seed, text, orig_dir, fmt_dir):
    """The number of rules checked, or None after printing a difference."""
    with open(os.path.join(orig_dir, "r.rules"), "w") as f:
        f.write(text)
    batch = compile_batch(args.fwmapgen, orig_dir)
    texts, lines = texts_of(batch), lines_of(batch)
    if sorted(texts) != list(range(len(lines) + 1)):
        print("seed %d: bg_fw_rtext has ids %s for %d rules"
              % (seed, sorted(texts), len(lines)))
        return None
    new = rebuild(text, lines, texts)
    with open(os.path.join(fmt_dir, "r.rules"), "w") as f:
        f.write(new)
    d0 = digest(args.fwmapgen, orig_dir)
    d1 = digest(args.fwmapgen, fmt_dir)
    texts1 = texts_of(compile_batch(args.fwmapgen, fmt_dir))
    if d0 == d1 and texts1 == texts:
        return len(lines)
    diff = ["  @%d %s\n  -> %s" % (i, texts[i]["text"],
                                  texts1.get(i, {}).get("text"))
            for i in sorted(texts) if texts1.get(i) != texts[i]]
    print("seed %d: digests %s and %s differ; texts that changed:\n%s"
          "\n--- ruleset\n%s--- rebuilt from the texts\n%s"
          % (seed, d0, d1, "\n".join(diff) or "  none", text, new))
    return None


def workdirs(args):
    orig_dir = os.path.join(args.workdir, "orig")
    fmt_dir = os.path.join(args.workdir, "fmt")
    os.makedirs(orig_dir, exist_ok=True)
    os.makedirs(fmt_dir, exist_ok=True)
    return orig_dir, fmt_dir


def check(args):
    with open(args.ruleset) as f:
        text = f.read()
    try:
        n = check_seed(args, 0, text, *workdirs(args))
    except Failed as e:
        print("%s: %s" % (args.ruleset, e))
        return 1
    if n is None:
        return 1
    print("%d rules: every text parses back to its rule" % n)
    return 0


def roundtrip(args):
    ifaces = [i for i in args.ifaces.split(",") if i]
    orig_dir, fmt_dir = workdirs(args)
    nrules = 0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        text = gen(seed, ifaces)
        try:
            n = check_seed(args, seed, text, orig_dir, fmt_dir)
        except Failed as e:
            print("seed %d: %s\n--- ruleset\n%s" % (seed, e, text))
            return 1
        if n is None:
            return 1
        nrules += n
        print("seed %d: %d rules, their texts compile to the same digest"
              % (seed, n))
    print("%d seeds, %d rules: every text parses back to its rule"
          % (args.seeds, nrules))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    rt = sub.add_parser("roundtrip")
    rt.add_argument("--fwmapgen", required=True)
    rt.add_argument("--workdir", required=True)
    rt.add_argument("--seeds", type=int, default=200)
    rt.add_argument("--first-seed", type=int, default=1)
    rt.add_argument("--ifaces", default="lo,eth9")
    tx = sub.add_parser("texts")
    tx.add_argument("--fwmapgen", required=True)
    tx.add_argument("ruleset")
    ck = sub.add_parser("check")
    ck.add_argument("--fwmapgen", required=True)
    ck.add_argument("--workdir", required=True)
    ck.add_argument("ruleset")
    gn = sub.add_parser("gen")
    gn.add_argument("--seed", type=int, required=True)
    gn.add_argument("--ifaces", default="lo,eth9")
    args = ap.parse_args()
    if args.cmd == "roundtrip":
        return roundtrip(args)
    if args.cmd == "check":
        return check(args)
    if args.cmd == "gen":
        sys.stdout.write(gen(args.seed, [i for i in args.ifaces.split(",")
                                         if i]))
        return 0
    batch = subprocess.run([args.fwmapgen, "--pin-dir", "/p", args.ruleset],
                           capture_output=True, text=True, check=True).stdout
    print(json.dumps({str(k): v for k, v in sorted(texts_of(batch).items())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
