# SPDX-License-Identifier: Apache-2.0
"""Fresh random secrets of realistic shape for the third blind redaction
corpus, and the commands they are put into.

    make_secret(kind)          -> a new random secret of that kind
    fill(template, secret)     -> the template with {{SECRET}} replaced
    load_templates(path)       -> [(kind, template)] from commands.tsv
    python3 secrets.py --seed 7 -n 50     # JSON lines {"kind","secret","command"}
    python3 secrets.py --list-kinds
    python3 secrets.py --check            # templates and generators agree

The interface is the first and second held-out sets', so the same
evaluator can run any of them.  Copied from the second set's generator;
kinds this corpus does not use were dropped and new kinds added (below
the table).  Values come from the standard library's `secrets` module and are
new on every call; the seed only picks templates and their order.
--deterministic draws values from random.Random(seed) instead so that a
failing run can be repeated; those values have the right shape but are not
secret.

The file is called secrets.py, which shadows the standard module when run
from this directory, so the standard one is loaded by path.
"""

import argparse
import base64
import importlib.util
import json
import os
import random
import sys
import sysconfig
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PLACEHOLDER = "{{SECRET}}"
DEFAULT_TEMPLATES = os.path.join(HERE, "commands.tsv")


def _stdlib_secrets():
    path = os.path.join(sysconfig.get_paths()["stdlib"], "secrets.py")
    spec = importlib.util.spec_from_file_location("_stdlib_secrets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SYSTEM_RNG = _stdlib_secrets().SystemRandom()

UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LO = "abcdefghijklmnopqrstuvwxyz"
DIG = "0123456789"
ALNUM = UP + LO + DIG
HEX = DIG + "abcdef"
B64 = ALNUM + "+/"
URLB64 = ALNUM + "-_"
# Passwords stay valid unquoted in URLs and inside any shell quoting the
# templates use: letters, digits and the URL-unreserved "-_.~" only.
PW_CHARS = ALNUM + "-_.~"


def chars(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def raw(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def b64(rng, n):
    return base64.b64encode(raw(rng, n)).decode()


def b64url(rng, n):
    return base64.urlsafe_b64encode(raw(rng, n)).decode().rstrip("=")


def digits(rng, n):
    return rng.choice("123456789") + chars(rng, DIG, n - 1)


def password(rng):
    n = rng.randint(16, 28)
    while True:
        pw = rng.choice(ALNUM) + chars(rng, PW_CHARS, n - 1)
        if any(c in UP for c in pw) and any(c in LO for c in pw) and any(c in DIG for c in pw):
            return pw


def aws_access_key_id(rng):
    return rng.choice(["AKIA", "AKIA", "ASIA"]) + chars(rng, UP + "234567", 16)


def github_pat(rng):
    if rng.random() < 0.5:
        return "ghp_" + chars(rng, ALNUM, 36)
    return "github_pat_11" + chars(rng, UP + DIG, 20) + "_" + chars(rng, ALNUM, 59)


def github_app_token(rng):
    return rng.choice(["gho_", "ghu_", "ghs_", "ghr_"]) + chars(rng, ALNUM, 36)


def slack_webhook_path(rng):
    return ("T" + chars(rng, UP + DIG, 10) + "/B" + chars(rng, UP + DIG, 10)
            + "/" + chars(rng, ALNUM, 24))


def discord_webhook_path(rng):
    return digits(rng, 19) + "/" + chars(rng, URLB64, 68)


def stripe_secret_key(rng):
    mode = rng.choice(["sk_live_", "sk_live_", "sk_test_"])
    return mode + "51" + chars(rng, ALNUM, 97)


def openai_api_key(rng):
    kind = rng.choice(["sk-proj-", "sk-proj-", "sk-svcacct-", "sk-admin-"])
    return kind + chars(rng, URLB64, 74) + "T3BlbkFJ" + chars(rng, URLB64, 74)


def jwt(rng):
    def enc(obj):
        return base64.urlsafe_b64encode(
            json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")
    alg = rng.choice(["HS256", "RS256", "ES384"])
    t = 1_760_000_000 + rng.randint(0, 40_000_000)
    head = {"alg": alg, "typ": "JWT"}
    if alg != "HS256":
        head["kid"] = chars(rng, URLB64, 20)
    body = {"iss": rng.choice(["https://id.example.com", "supabase", "kubernetes/serviceaccount"]),
            "sub": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "role": rng.choice(["service_role", "authenticated", "admin"]),
            "iat": t, "exp": t + rng.choice([3600, 86400, 31536000])}
    sig = {"HS256": 32, "RS256": 256, "ES384": 96}[alg]
    return enc(head) + "." + enc(body) + "." + b64url(rng, sig)


def basic_auth_blob(rng):
    user = rng.choice(["ci", "deploy", "grafana-bot", "admin", "robot$builder"])
    return base64.b64encode(f"{user}:{password(rng)}".encode()).decode()


def pem_private_key(rng):
    kind = rng.choice(["RSA ", "", "EC ", "OPENSSH "])
    if kind == "OPENSSH ":
        body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZWQyNTUxOQAAACA" \
            + chars(rng, B64, 320)
        width = 70
    elif kind == "EC ":
        body = "MHcCAQEEI" + chars(rng, B64, 215)
        width = 64
    else:
        body = ("MIIEowIBAAKCAQEA" if kind else "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ") \
            + chars(rng, B64, 1560)
        width = 64
    lines = [body[i:i + width] for i in range(0, len(body), width)]
    return "\n".join([f"-----BEGIN {kind}PRIVATE KEY-----"] + lines
                     + [f"-----END {kind}PRIVATE KEY-----"])


def gcp_private_key_json(rng):
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ" + chars(rng, B64, 1570)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN PRIVATE KEY-----\\n" + "\\n".join(lines)
            + "\\n-----END PRIVATE KEY-----\\n")


def sentry_org_token(rng):
    claims = {"iat": 1_760_000_000 + rng.randint(0, 9_999_999),
              "url": "https://sentry.example.com", "region_url": "https://sentry.example.com",
              "org": rng.choice(["acme", "example-inc", "shop"])}
    blob = base64.b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    return "sntrys_" + blob + "_" + chars(rng, URLB64, 43)


def atlassian_api_token(rng):
    return "ATATT3xFfGF0" + chars(rng, URLB64, 170) + "=" + chars(rng, HEX.upper(), 8)


def fly_token(rng):
    return "FlyV1 fm2_" + chars(rng, B64, 300) + "," + "fm2_" + chars(rng, B64, 240)


GENERATORS = {
    "aws_access_key_id": aws_access_key_id,
    "aws_secret_access_key": lambda r: chars(r, B64, 40),
    "aws_session_token": lambda r: "IQoJb3JpZ2luX2Vj" + b64(r, r.randint(320, 480)).rstrip("="),
    "github_pat": github_pat,
    "github_app_token": github_app_token,
    "gitlab_pat": lambda r: "glpat-" + chars(r, URLB64, 20),
    "gitlab_runner_token": lambda r: "glrt-" + chars(r, URLB64, 20),
    "npm_token": lambda r: "npm_" + chars(r, ALNUM, 36),
    "pypi_token": lambda r: "pypi-AgEIcHlwaS5vcmc" + chars(r, URLB64, r.randint(150, 190)),
    "huggingface_token": lambda r: "hf_" + chars(r, UP + LO, 34),
    "slack_bot_token": lambda r: "xoxb-" + digits(r, 12) + "-" + digits(r, 13) + "-" + chars(r, ALNUM, 24),
    "slack_webhook_path": slack_webhook_path,
    "discord_webhook_path": discord_webhook_path,
    "stripe_secret_key": stripe_secret_key,
    "stripe_webhook_secret": lambda r: "whsec_" + chars(r, ALNUM, 32),
    "twilio_auth_token": lambda r: chars(r, HEX, 32),
    "sendgrid_api_key": lambda r: "SG." + chars(r, URLB64, 22) + "." + chars(r, URLB64, 43),
    "openai_api_key": openai_api_key,
    "anthropic_api_key": lambda r: "sk-ant-api03-" + chars(r, URLB64, 93) + "AA",
    "openrouter_api_key": lambda r: "sk-or-v1-" + chars(r, HEX, 64),
    "groq_api_key": lambda r: "gsk_" + chars(r, ALNUM, 52),
    "replicate_api_token": lambda r: "r8_" + chars(r, ALNUM, 37),
    "google_api_key": lambda r: "AIza" + chars(r, URLB64, 35),
    "google_oauth_client_secret": lambda r: "GOCSPX-" + chars(r, URLB64, 28),
    "gcp_private_key_json": gcp_private_key_json,
    "azure_storage_key": lambda r: b64(r, 64),
    "azure_client_secret": lambda r: chars(r, ALNUM, 3) + "8Q~" + chars(r, ALNUM + "_.~-", 34),
    "jwt": jwt,
    "basic_auth_blob": basic_auth_blob,
    "bearer_token": lambda r: chars(r, ALNUM, r.randint(40, 60)),
    "pem_private_key": pem_private_key,
    "database_password": password,
    "ssh_password": password,
    "generic_password": password,
    "registry_password": password,
    "generic_api_key": lambda r: r.choice([chars(r, ALNUM, r.randint(32, 48)), chars(r, HEX, 40)]),
    "vault_token": lambda r: "hvs." + chars(r, URLB64, r.choice([24, 91])),
    "digitalocean_token": lambda r: "dop_v1_" + chars(r, HEX, 64),
    "shopify_access_token": lambda r: r.choice(["shpat_", "shpca_", "shppa_"]) + chars(r, HEX, 32),
    "databricks_token": lambda r: "dapi" + chars(r, HEX, 32),
    "age_secret_key": lambda r: "AGE-SECRET-KEY-1" + chars(r, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58),
    "telegram_bot_token": lambda r: digits(r, 10) + ":AA" + chars(r, URLB64, 33),
    "linear_api_key": lambda r: "lin_api_" + chars(r, ALNUM, 40),
    "doppler_token": lambda r: "dp.st." + r.choice(["dev", "prd", "stg"]) + "." + chars(r, ALNUM, 40),
    "grafana_sa_token": lambda r: "glsa_" + chars(r, ALNUM, 32) + "_" + chars(r, HEX, 8),
    "atlassian_api_token": atlassian_api_token,
    "tailscale_auth_key": lambda r: "tskey-auth-k" + chars(r, ALNUM, 11) + "-" + chars(r, ALNUM, 33),
    "dockerhub_pat": lambda r: "dckr_pat_" + chars(r, URLB64, 27),
    "wandb_api_key": lambda r: chars(r, HEX, 40),
    "fly_token": fly_token,
    "supabase_access_token": lambda r: "sbp_" + chars(r, HEX, 40),
    "okta_api_token": lambda r: "00" + chars(r, URLB64, 40),
    "cloudflare_api_token": lambda r: chars(r, URLB64, 40),
    "terraform_cloud_token": lambda r: chars(r, ALNUM, 14) + ".atlasv1." + chars(r, ALNUM, 67),
}


# ---- kinds added for the third corpus ----

def uuid4(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def azure_devops_pat(rng):
    if rng.random() < 0.5:
        return chars(rng, LO + "234567", 52)
    return chars(rng, ALNUM, 52) + "JQQJ99" + "AZDO" + chars(rng, ALNUM, 4) + chars(rng, ALNUM, 18)


def mapbox_secret_token(rng):
    claims = {"u": rng.choice(["acme-maps", "devteam", "geo-ops"]), "a": chars(rng, LO + DIG, 25)}
    blob = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    return "sk." + blob + "." + chars(rng, URLB64, 22)


def discord_bot_token(rng):
    uid = base64.b64encode(digits(rng, 18).encode()).decode().rstrip("=")
    return uid + "." + chars(rng, URLB64, 6) + "." + chars(rng, URLB64, 38)


def azure_sas_signature(rng):
    # the sig= value of a SAS URL: base64 of an HMAC-SHA256, percent-encoded
    return urllib.parse.quote(b64(rng, 32), safe="")


def mailgun_api_key(rng):
    if rng.random() < 0.5:
        return "key-" + chars(rng, HEX, 32)
    return chars(rng, HEX, 32) + "-" + chars(rng, HEX, 8) + "-" + chars(rng, HEX, 8)


def twitter_bearer_token(rng):
    return "AAAAAAAAAAAAAAAAAAAAA" + chars(rng, ALNUM, 25) + "%3D" + chars(rng, ALNUM, 50)


def notion_token(rng):
    if rng.random() < 0.5:
        return "secret_" + chars(rng, ALNUM, 43)
    return "ntn_" + digits(rng, 11) + chars(rng, ALNUM, 35)


NEW_GENERATORS = {
    "azure_devops_pat": azure_devops_pat,
    "circleci_token": lambda r: "CCIPAT_" + chars(r, ALNUM, 22) + "_" + chars(r, HEX, 40),
    "buildkite_token": lambda r: "bkua_" + chars(r, HEX, 40),
    "heroku_api_key": lambda r: "HRKU-AA" + chars(r, URLB64, 58),
    "netlify_token": lambda r: "nfp_" + chars(r, ALNUM, 36),
    "vercel_token": lambda r: chars(r, ALNUM, 24),
    "datadog_api_key": lambda r: chars(r, HEX, 32),
    "datadog_app_key": lambda r: chars(r, HEX, 40),
    "sentry_user_token": lambda r: "sntryu_" + chars(r, HEX, 64),
    "mistral_api_key": lambda r: chars(r, ALNUM, 32),
    "deepseek_api_key": lambda r: "sk-" + chars(r, HEX, 32),
    "perplexity_api_key": lambda r: "pplx-" + chars(r, ALNUM, 48),
    "xai_api_key": lambda r: "xai-" + chars(r, ALNUM, 80),
    "langsmith_api_key": lambda r: "lsv2_" + r.choice(["pt", "sk"]) + "_" + chars(r, HEX, 32) + "_" + chars(r, HEX, 10),
    "pinecone_api_key": lambda r: "pcsk_" + chars(r, ALNUM, 5) + "_" + chars(r, ALNUM, 63),
    "mapbox_secret_token": mapbox_secret_token,
    "discord_bot_token": discord_bot_token,
    "bitbucket_app_password": lambda r: "ATBB" + chars(r, ALNUM, 32) + chars(r, HEX.upper(), 8),
    "rubygems_api_key": lambda r: "rubygems_" + chars(r, HEX, 48),
    "nuget_api_key": lambda r: "oy2" + chars(r, LO + DIG, 43),
    "cargo_registry_token": lambda r: "cio" + chars(r, ALNUM, 32),
    "jfrog_token": lambda r: "cmVmdGtuOjAxOj" + chars(r, ALNUM, 50),
    "sonar_token": lambda r: r.choice(["squ_", "sqp_", "sqa_"]) + chars(r, HEX, 40),
    "gitlab_ci_job_token": lambda r: "glcbt-" + chars(r, HEX, 2) + "_" + chars(r, URLB64, 20),
    "gcp_access_token": lambda r: "ya29." + chars(r, URLB64, r.randint(150, 220)),
    "gcp_refresh_token": lambda r: "1//0" + chars(r, URLB64, 99),
    "azure_sas_signature": azure_sas_signature,
    "wireguard_private_key": lambda r: b64(r, 32),
    "laravel_app_key": lambda r: "base64:" + b64(r, 32),
    "rails_master_key": lambda r: chars(r, HEX, 32),
    "django_secret_key": lambda r: chars(r, LO + DIG + "-_=+", 50),
    "generic_hex_secret": lambda r: chars(r, HEX, r.choice([64, 128])),
    "mailgun_api_key": mailgun_api_key,
    "resend_api_key": lambda r: "re_" + chars(r, ALNUM, 8) + "_" + chars(r, ALNUM, 24),
    "uuid_api_token": uuid4,
    "k8s_bootstrap_token": lambda r: chars(r, LO + DIG, 6) + "." + chars(r, LO + DIG, 16),
    "ngrok_authtoken": lambda r: "2" + chars(r, ALNUM, 26) + "_" + chars(r, ALNUM, 21),
    "twitter_bearer_token": twitter_bearer_token,
    "notion_token": notion_token,
    "airtable_pat": lambda r: "pat" + chars(r, ALNUM, 14) + "." + chars(r, HEX, 64),
    "figma_token": lambda r: "figd_" + chars(r, URLB64, 40),
    "hubspot_token": lambda r: "pat-" + r.choice(["na1", "eu1"]) + "-" + uuid4(r),
    "auth0_client_secret": lambda r: chars(r, URLB64, 64),
    "github_oauth_client_secret": lambda r: chars(r, HEX, 40),
    "meta_access_token": lambda r: "EAAG" + chars(r, ALNUM, r.randint(150, 200)),
}
GENERATORS.update(NEW_GENERATORS)

KINDS = sorted(GENERATORS)


def make_secret(kind, rng=None):
    """A new random secret of the given kind (from `secrets` unless rng is given)."""
    if kind not in GENERATORS:
        raise KeyError(f"unknown kind: {kind}")
    return GENERATORS[kind](rng or SYSTEM_RNG)


def decode_template(text):
    """The TSV escape: the two characters backslash-n stand for a newline."""
    return text.replace("\\n", "\n")


def fill(template, secret):
    cmd = decode_template(template)
    if cmd.count(PLACEHOLDER) != 1:
        raise ValueError(f"template must hold {PLACEHOLDER} exactly once: {template!r}")
    return cmd.replace(PLACEHOLDER, secret)


def load_templates(path=DEFAULT_TEMPLATES):
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            kind, tab, template = line.partition("\t")
            if not tab:
                raise ValueError(f"{path}:{lineno}: no tab")
            rows.append((kind, template))
    return rows


def check(rows):
    problems = []
    for kind, template in rows:
        if kind not in GENERATORS:
            problems.append(f"no generator for kind {kind}")
        if template.count(PLACEHOLDER) != 1:
            problems.append(f"{kind}: placeholder count is not 1: {template[:60]}")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="picks templates and their order")
    ap.add_argument("-n", "--count", type=int, default=20, help="how many filled commands")
    ap.add_argument("--kind", action="append", help="only these kinds (repeatable)")
    ap.add_argument("--templates", default=DEFAULT_TEMPLATES, help="KIND<TAB>COMMAND file")
    ap.add_argument("--deterministic", action="store_true",
                    help="draw values from random.Random(seed) as well (repeatable, not secret)")
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
        unused = sorted(set(KINDS) - {k for k, _ in rows})
        if unused:
            print("generators without templates: " + ", ".join(unused), file=sys.stderr)
        print(f"{len(rows)} templates, {len({k for k, _ in rows})} kinds, {len(problems)} problems")
        return 1 if problems or unused else 0
    if args.kind:
        rows = [r for r in rows if r[0] in set(args.kind)]
    if not rows:
        print("no templates selected", file=sys.stderr)
        return 2
    pick = random.Random(args.seed)
    values = random.Random(f"values:{args.seed}") if args.deterministic else SYSTEM_RNG
    order = list(rows)
    pick.shuffle(order)
    for i in range(args.count):
        if i and i % len(order) == 0:
            pick.shuffle(order)
        kind, template = order[i % len(order)]
        secret = make_secret(kind, values)
        sys.stdout.write(json.dumps({"kind": kind, "secret": secret,
                                     "command": fill(template, secret)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
