# SPDX-License-Identifier: Apache-2.0
"""Random secrets of realistic shape, and filled commands, for the held-out
redaction corpus.

    make_secret(kind)          -> a fresh random secret of that kind
    fill(template, secret)     -> the command with {{SECRET}} replaced
    python3 secrets.py --seed 7 -n 50          # JSON lines on stdout
    python3 secrets.py --list-kinds
    python3 secrets.py --check                 # corpus and generator agree

By default secret values come from the standard library's `secrets` module
(a new value on every call, never reproducible).  The seed only chooses which
templates are used and in what order.  --deterministic draws the values from
random.Random(seed) instead, for runs that must be repeated bit for bit; such
values are still the right shape but must never be used as real credentials.

This file is named secrets.py; it loads the standard module of the same name
from the standard library's directory by path, so running it as a script works.
"""

import argparse
import base64
import importlib.util
import json
import os
import random
import sys
import sysconfig
import uuid

_here = os.path.dirname(os.path.abspath(__file__))


def _load_stdlib_secrets():
    # This file shadows the standard module's name when run from its own
    # directory, so load the standard one from the standard library by path.
    path = os.path.join(sysconfig.get_paths()["stdlib"], "secrets.py")
    spec = importlib.util.spec_from_file_location("_stdlib_secrets", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_stdlib_secrets = _load_stdlib_secrets()

PLACEHOLDER = "{{SECRET}}"
DEFAULT_TEMPLATES = os.path.join(_here, "commands.tsv")

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
ALNUM = UPPER + LOWER + DIGITS
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
BASE32 = UPPER + "234567"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
# Passwords: shell- and URL-safe so that every template stays valid whatever
# quoting it uses ("-_.~" are unreserved in URLs; the first character is alnum).
PW_EXTRA = "-_.~"

_system_rng = _stdlib_secrets.SystemRandom()


def _s(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def _bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def _b64(rng, nbytes):
    return base64.b64encode(_bytes(rng, nbytes)).decode()


def _b64url(rng, nbytes):
    return base64.urlsafe_b64encode(_bytes(rng, nbytes)).decode().rstrip("=")


def _digits(rng, lo, hi):
    n = rng.randint(lo, hi)
    return rng.choice("123456789") + _s(rng, DIGITS, n - 1)


def password(rng):
    n = rng.randint(14, 26)
    while True:
        body = rng.choice(ALNUM) + _s(rng, ALNUM + PW_EXTRA, n - 1)
        if (any(c in UPPER for c in body) and any(c in LOWER for c in body)
                and any(c in DIGITS for c in body)):
            return body


def _pem_body(rng, prefix, nchars):
    body = prefix + _s(rng, B64, nchars - len(prefix))
    return body


def _wrap(s, width):
    return [s[i:i + width] for i in range(0, len(s), width)]


def pem_private_key(rng):
    style = rng.choice(["rsa", "pkcs8", "ec", "openssh"])
    if style == "rsa":
        head, tail = "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"
        lines = _wrap(_pem_body(rng, "MIIEpAIBAAKCAQEA", 1588), 64)
    elif style == "pkcs8":
        head, tail = "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"
        lines = _wrap(_pem_body(rng, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ", 1620), 64)
    elif style == "ec":
        head, tail = "-----BEGIN EC PRIVATE KEY-----", "-----END EC PRIVATE KEY-----"
        lines = _wrap(_pem_body(rng, "MHcCAQEEI", 224), 64)
    else:
        head, tail = ("-----BEGIN OPENSSH PRIVATE KEY-----",
                      "-----END OPENSSH PRIVATE KEY-----")
        lines = _wrap(_pem_body(
            rng, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
            "QyNTUxOQAAACB", 396), 70)
        lines[-1] = lines[-1][:-2] + "=="  # openssh bodies are padded
    return "\n".join([head] + lines + [tail])


def gcp_service_account_json(rng):
    # The value of "private_key" as it is written inside the JSON file:
    # newlines are the two-character JSON escape backslash-n.
    lines = _wrap(_pem_body(rng, "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQ", 1624), 64)
    return ("-----BEGIN PRIVATE KEY-----\\n" + "\\n".join(lines)
            + "\\n-----END PRIVATE KEY-----\\n")


def jwt(rng):
    alg = rng.choice(["HS256", "RS256", "ES256"])
    header = {"alg": alg, "typ": "JWT"}
    if alg != "HS256":
        header["kid"] = _s(rng, HEX, 16)
    now = 1_700_000_000 + rng.randint(0, 60_000_000)
    claims = {
        "sub": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "iat": now,
        "exp": now + rng.choice([900, 3600, 86400]),
        "iss": rng.choice(["https://auth.acme.dev/", "api.staging.acme.dev", "acme-idp"]),
        "scope": rng.choice(["read:orders", "openid profile email", "admin"]),
    }

    def enc(obj):
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    sig_bytes = {"HS256": 32, "RS256": 256, "ES256": 64}[alg]
    return enc(header) + "." + enc(claims) + "." + _b64url(rng, sig_bytes)


def basic_auth_header(rng):
    user = rng.choice(["deploy", "ci-bot", "admin", "jenkins", "svc_build", "jdoe"])
    return base64.b64encode(f"{user}:{password(rng)}".encode()).decode()


def github_pat(rng):
    if rng.random() < 0.5:
        return "ghp_" + _s(rng, ALNUM, 36)
    return "github_pat_11" + _s(rng, UPPER + DIGITS, 20) + "_" + _s(rng, ALNUM, 59)


def discord_bot_token(rng):
    ident = _digits(rng, 18, 19)
    first = base64.b64encode(ident.encode()).decode().rstrip("=")
    return first + "." + _s(rng, B64URL, 6) + "." + _s(rng, B64URL, 38)


def vault_token(rng):
    if rng.random() < 0.5:
        return "hvs." + _s(rng, ALNUM, 24)
    return "hvs.CAESI" + _s(rng, B64URL, 82)


def openai_key(rng):
    if rng.random() < 0.85:
        return "sk-proj-" + _s(rng, B64URL, 74) + "T3BlbkFJ" + _s(rng, B64URL, 74)
    return "sk-svcacct-" + _s(rng, B64URL, 74) + "T3BlbkFJ" + _s(rng, B64URL, 74)


def stripe_key(prefix):
    def make(rng):
        if rng.random() < 0.3:
            return prefix + _s(rng, ALNUM, 24)
        return prefix + "51" + _s(rng, ALNUM, 97)
    return make


def azure_sas_signature(rng):
    sig = _b64(rng, 32)
    return sig.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def slack_webhook_url(rng):
    return ("T" + _s(rng, UPPER + DIGITS, rng.randint(8, 10)) + "/B"
            + _s(rng, UPPER + DIGITS, rng.randint(9, 11)) + "/" + _s(rng, ALNUM, 24))


GENERATORS = {
    "aws_access_key_id": lambda r: "AKIA" + _s(r, BASE32, 16),
    "aws_secret_access_key": lambda r: _s(r, B64, 40),
    "aws_session_token": lambda r: "IQoJb3JpZ2luX2Vj" + _b64(r, r.randint(300, 520)).rstrip("="),
    "github_pat": github_pat,
    "github_oauth_token": lambda r: "gho_" + _s(r, ALNUM, 36),
    "github_app_token": lambda r: "ghs_" + _s(r, ALNUM, 36),
    "gitlab_pat": lambda r: "glpat-" + _s(r, B64URL, 20),
    "slack_bot_token": lambda r: "xoxb-" + _digits(r, 10, 13) + "-" + _digits(r, 10, 13) + "-" + _s(r, ALNUM, 24),
    "slack_user_token": lambda r: ("xoxp-" + _digits(r, 10, 13) + "-" + _digits(r, 10, 13) + "-"
                                   + _digits(r, 10, 13) + "-" + _s(r, HEX, 32)),
    "slack_webhook_url": slack_webhook_url,
    "stripe_secret": stripe_key("sk_live_"),
    "stripe_restricted": stripe_key("rk_live_"),
    "openai_key": openai_key,
    "anthropic_key": lambda r: "sk-ant-api03-" + _s(r, B64URL, 93) + "AA",
    "npm_token": lambda r: "npm_" + _s(r, ALNUM, 36),
    "pypi_token": lambda r: "pypi-AgEIcHlwaS5vcmc" + _s(r, B64URL, r.randint(140, 200)),
    "huggingface": lambda r: "hf_" + _s(r, UPPER + LOWER, 34),
    "vault_token": vault_token,
    "google_api_key": lambda r: "AIza" + _s(r, B64URL, 35),
    "gcp_service_account_json": gcp_service_account_json,
    "gcp_access_token": lambda r: "ya29.a0" + _s(r, B64URL, r.randint(150, 230)),
    "pem_private_key": pem_private_key,
    "azure_storage_key": lambda r: _b64(r, 64),
    "azure_client_secret": lambda r: _s(r, ALNUM, 3) + "8Q~" + _s(r, ALNUM + "_.~-", 34),
    "azure_sas_signature": azure_sas_signature,
    "postgres_url": password,
    "mysql_password": password,
    "redis_password": password,
    "mongodb_uri": password,
    "jwt": jwt,
    "basic_auth_header": basic_auth_header,
    "bearer_token": lambda r: _s(r, ALNUM, r.randint(40, 64)),
    "docker_registry_password": password,
    "twilio_auth_token": lambda r: _s(r, HEX, 32),
    "sendgrid_key": lambda r: "SG." + _s(r, B64URL, 22) + "." + _s(r, B64URL, 43),
    "telegram_bot_token": lambda r: _digits(r, 9, 10) + ":AA" + _s(r, B64URL, 33),
    "datadog_api_key": lambda r: _s(r, HEX, 32),
    "datadog_app_key": lambda r: _s(r, HEX, 40),
    "mailgun_api_key": lambda r: "key-" + _s(r, HEX, 32),
    "shopify_access_token": lambda r: "shpat_" + _s(r, HEX, 32),
    "digitalocean_token": lambda r: "dop_v1_" + _s(r, HEX, 64),
    "heroku_api_key": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "discord_bot_token": discord_bot_token,
    "cloudflare_api_token": lambda r: _s(r, B64URL, 40),
    "sentry_auth_token": lambda r: "sntryu_" + _s(r, HEX, 64),
    "databricks_token": lambda r: "dapi" + _s(r, HEX, 32) + r.choice(["", "", "-2", "-3"]),
    "age_secret_key": lambda r: "AGE-SECRET-KEY-1" + _s(r, BECH32, 58),
    "newrelic_license_key": lambda r: _s(r, HEX, 36) + "NRAL",
    "terraform_cloud_token": lambda r: _s(r, ALNUM, 14) + ".atlasv1." + _s(r, ALNUM, 67),
    "ssh_password": password,
    "generic_password": password,
    "generic_api_key": lambda r: r.choice([_s(r, ALNUM, r.randint(32, 48)), _s(r, HEX, 32)]),
}

KINDS = sorted(GENERATORS)


def make_secret(kind, rng=None):
    """A new random secret of the given kind (from `secrets` unless rng given)."""
    if kind not in GENERATORS:
        raise KeyError(f"unknown kind: {kind}")
    return GENERATORS[kind](rng or _system_rng)


def decode_template(text):
    """TSV escape: the two characters backslash-n stand for a newline."""
    return text.replace("\\n", "\n")


def fill(template, secret):
    cmd = decode_template(template)
    if cmd.count(PLACEHOLDER) != 1:
        raise ValueError(f"template must contain {PLACEHOLDER} exactly once: {template!r}")
    return cmd.replace(PLACEHOLDER, secret)


def load_templates(path=DEFAULT_TEMPLATES):
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            kind, sep, template = line.partition("\t")
            if not sep:
                raise ValueError(f"{path}:{lineno}: no tab")
            rows.append((kind, template))
    return rows


def check(rows):
    problems = []
    for kind, template in rows:
        if kind not in GENERATORS:
            problems.append(f"no generator for kind {kind}")
        if template.count(PLACEHOLDER) != 1:
            problems.append(f"{kind}: placeholder count != 1: {template[:60]}")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="chooses templates and their order")
    ap.add_argument("-n", "--count", type=int, default=20, help="how many filled commands")
    ap.add_argument("--kind", action="append", help="only these kinds (repeatable)")
    ap.add_argument("--templates", default=DEFAULT_TEMPLATES, help="KIND<TAB>COMMAND file")
    ap.add_argument("--deterministic", action="store_true",
                    help="draw secret values from random.Random(seed) too")
    ap.add_argument("--list-kinds", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)

    if args.list_kinds:
        print("\n".join(KINDS))
        return 0
    rows = load_templates(args.templates)
    if args.check:
        problems = check(rows)
        for p in problems:
            print(p, file=sys.stderr)
        kinds = {k for k, _ in rows}
        print(f"{len(rows)} templates, {len(kinds)} kinds, {len(problems)} problems")
        return 1 if problems else 0
    if args.kind:
        rows = [r for r in rows if r[0] in set(args.kind)]
    if not rows:
        print("no templates selected", file=sys.stderr)
        return 2
    pick = random.Random(args.seed)
    value_rng = random.Random(f"values:{args.seed}") if args.deterministic else _system_rng
    order = list(rows)
    pick.shuffle(order)
    out = sys.stdout
    for i in range(args.count):
        if i and i % len(order) == 0:
            pick.shuffle(order)
        kind, template = order[i % len(order)]
        secret = make_secret(kind, value_rng)
        out.write(json.dumps({"kind": kind, "secret": secret,
                              "command": fill(template, secret)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
