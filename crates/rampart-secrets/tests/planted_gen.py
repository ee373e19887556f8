#!/usr/bin/env python3
"""Author the planted-secrets repository (tests/planted/) and its expected.json.

Run once at authoring time; the output is committed. Every secret is FAKE (random bytes
from a seeded generator) but has the real shape: length, charset, prefix and, where the
format has one, the checksum (GitHub tokens' CRC32 suffix). Re-running reproduces the
same tree (fixed seed).

Template markers:
  {{S:kind:generator}}  a true secret; the line it lands on is recorded as (file, line, kind)
  {{K:kind}}            a true secret spelled out literally on this line (PEM BEGIN lines)
  {{Q:note}}            end-of-template-line marker (removed): this line is a look-alike
                        that must stay quiet; recorded as (file, line, note)
"""
import base64
import json
import os
import random
import re
import string
import zlib

R = random.Random(0x52414D50)  # "RAMP"
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "planted")


def rnd(n, alphabet=ALNUM):
    while True:
        s = "".join(R.choice(alphabet) for _ in range(n))
        # real random strings of this length practically always mix classes
        mixed = any(c.isdigit() for c in alphabet) and any(c.isalpha() for c in alphabet)
        if n < 8 or not mixed or (any(c.isdigit() for c in s) and any(c.isalpha() for c in s)):
            return s


def b62(n, width):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def ghp(prefix="ghp_"):
    body = rnd(30)
    return prefix + body + b62(zlib.crc32(body.encode()) & 0xFFFFFFFF, 6)


def b64(nbytes):
    return base64.b64encode(R.randbytes(nbytes)).decode()


def pem_body(nbytes, width=64, start=""):
    raw = start + b64(nbytes)
    return [raw[i : i + width] for i in range(0, len(raw), width)]


GEN = {
    "aws_id": lambda: "AKIA" + rnd(16, string.ascii_uppercase + "234567"),
    "aws_secret": lambda: rnd(40, ALNUM + "/+"),
    "ghp": lambda: ghp("ghp_"),
    "gho": lambda: ghp("gho_"),
    "ghs": lambda: ghp("ghs_"),
    "github_pat": lambda: "github_pat_11" + rnd(20, string.ascii_uppercase + string.digits) + "_" + rnd(59),
    "slack_bot": lambda: "xoxb-" + rnd(11, string.digits) + "-" + rnd(13, string.digits) + "-" + rnd(24),
    "slack_webhook": lambda: "https://hooks.slack.com/services/T" + rnd(8, string.ascii_uppercase + string.digits) + "/B" + rnd(10, string.ascii_uppercase + string.digits) + "/" + rnd(24),
    "stripe_live": lambda: "sk_live_51" + rnd(97),
    "stripe_restricted": lambda: "rk_live_51" + rnd(97),
    "sendgrid": lambda: "SG." + rnd(22, ALNUM + "-_") + "." + rnd(43, ALNUM + "-_"),
    "openai": lambda: "sk-proj-" + rnd(74, ALNUM + "-_") + "T3BlbkFJ" + rnd(74, ALNUM + "-_"),
    "anthropic": lambda: "sk-ant-api03-" + rnd(93, ALNUM + "-_") + "AA",
    "gitlab_pat": lambda: "glpat-" + rnd(20, ALNUM + "-_"),
    "npm": lambda: "npm_" + rnd(36),
    "twilio": lambda: "SK" + rnd(32, "0123456789abcdef"),
    "mailgun": lambda: "key-" + rnd(32, "0123456789abcdef"),
    "datadog": lambda: rnd(32, "0123456789abcdef"),
    "jwt_secret": lambda: rnd(48, ALNUM + "-_"),
    "django": lambda: rnd(50, string.ascii_lowercase + string.digits + "!@#%^&*(-_=+)"),
    "rails": lambda: rnd(128, "0123456789abcdef"),
    "hex64": lambda: rnd(64, "0123456789abcdef"),
    "pw": lambda: rnd(18, ALNUM + "!#%*+-_"),
    "pw_alnum": lambda: rnd(22),
    "pypi": lambda: "pypi-AgEIcHlwaS5vcmc" + rnd(60, ALNUM + "-_"),
    "doctl": lambda: "dop_v1_" + rnd(64, "0123456789abcdef"),
    "hvs": lambda: "hvs.CAESI" + rnd(86, ALNUM + "_-"),
    "azure_storage": lambda: rnd(86, ALNUM + "/+") + "==",
    "hex40": lambda: rnd(40, "0123456789abcdef"),
}

_cache = {}


def secret(kind, gen):
    key = (kind, gen)
    if key not in _cache:
        _cache[key] = GEN[gen]()
    return _cache[key]


FILES = {}


def f(path, text):
    FILES[path] = text.lstrip("\n")


def rsa_key_lines(header="RSA PRIVATE KEY", nbytes=1190, start="MIIEpAIBAAKCAQEA"):
    return ["-----BEGIN %s-----" % header] + pem_body(nbytes, start=start) + ["-----END %s-----" % header]


# A real, public certificate shape (random body: it is public material by nature).
CERT = "\n".join(["-----BEGIN CERTIFICATE-----"] + pem_body(900, start="MIIDdzCCAl+gAwIBAgIE") + ["-----END CERTIFICATE-----"])

exec(open(os.path.join(HERE, "planted_files.py")).read())


def render():
    expected, quiet = [], []
    for path, tmpl in sorted(FILES.items()):
        out_lines = []
        # templates may hold multi-line secrets: expand markers first, then split
        def sub(m):
            kind, gen = m.group(1), m.group(2)
            return "\x00S%s\x00" % kind + secret(kind, gen)
        text = re.sub(r"\{\{S:([\w.-]+):(\w+)\}\}", sub, tmpl)
        # {{X:gen}}: random value of that shape that is not a secret (key ids)
        text = re.sub(r"\{\{X:(\w+)\}\}", lambda m: GEN[m.group(1)](), text)
        text = re.sub(r"\{\{K:([\w.-]+)\}\}", lambda m: "\x00S%s\x00" % m.group(1), text)
        for line in text.split("\n"):
            n = len(out_lines) + 1
            for kind in re.findall(r"\x00S([\w.-]+)\x00", line):
                expected.append({"file": path, "line": n, "kind": kind})
            line = re.sub(r"\x00S[\w.-]+\x00", "", line)
            q = re.search(r"\s*\{\{Q:([^}]*)\}\}$", line)
            if q:
                quiet.append({"file": path, "line": n, "note": q.group(1)})
                line = line[: q.start()]
            out_lines.append(line.rstrip())
        full = os.path.join(OUT, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as fh:
            fh.write("\n".join(out_lines))
    # one entry per (file, line): two secrets on one line are one location
    seen, uniq = set(), []
    for e in expected:
        k = (e["file"], e["line"])
        if k not in seen:
            seen.add(k)
            uniq.append(e)
    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        json.dump({"secrets": uniq, "quiet": quiet}, fh, indent=1)
        fh.write("\n")
    print(len(FILES), "files,", len(uniq), "secret locations,", len(quiet), "look-alikes")


render()
