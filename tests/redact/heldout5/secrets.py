# SPDX-License-Identifier: Apache-2.0
"""Fresh random secrets of realistic shape for the fifth blind redaction
corpus, and the commands they are put into.

    make_secret(kind)          -> a new random secret of that kind
    fill(template, secret)     -> the template with {{SECRET}} replaced
    load_templates(path)       -> [(kind, template)] from commands.tsv
    python3 secrets.py --seed 7 -n 50     # JSON lines {"kind","secret","command"}
    python3 secrets.py --list-kinds
    python3 secrets.py --check            # templates and generators agree

The interface is the earlier held-out sets', so the same evaluator can run
any of them.  Copied from the fourth set's generator (a self-contained copy
per corpus); kinds this corpus does not use were dropped and new kinds
added (the last block of generators).  Values come from the standard
library's `secrets` module and are new on every call; the seed only picks
templates and their order.  --deterministic draws values from
random.Random(seed) instead so that a failing run can be repeated; those
values have the right shape but are not secret.

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


def uuid4(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def azure_sas_signature(rng):
    # the sig= value of a SAS URL: base64 of an HMAC-SHA256, percent-encoded
    return urllib.parse.quote(b64(rng, 32), safe="")


def _armor_lines(body, width):
    return [body[i:i + width] for i in range(0, len(body), width)]


def apple_p8_key(rng):
    # App Store Connect / APNs .p8 key: a PKCS#8 P-256 key
    body = "MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg" + chars(rng, B64, 140)
    return "\n".join(["-----BEGIN PRIVATE KEY-----"] + _armor_lines(body, 64)
                     + ["-----END PRIVATE KEY-----"])


def pkcs12_base64(rng):
    # a keystore (.p12/.jks) as CI stores it: base64 on one line
    return "MII" + rng.choice(["KYQIBAzCC", "JqQIBAzCC", "LAgIBAzCC"]) + chars(rng, B64, rng.randint(1800, 2400)) + "="


def braintree_access_token(rng):
    return "access_token$production$" + chars(rng, LO + DIG, 16) + "$" + chars(rng, HEX, 32)


def apple_app_specific_password(rng):
    return "-".join(chars(rng, LO, 4) for _ in range(4))


# ---- kinds added for the fifth corpus (shapes written from the vendors'
# published formats; where a vendor publishes none, the length and alphabet
# its keys are seen with) ----

BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def openvpn_static_key(rng):
    # the body of a tls-auth/tls-crypt key: 16 lines of 32 hex digits (the
    # BEGIN/END lines are written by the templates)
    return "\n".join(chars(rng, HEX, 32) for _ in range(16))


def cloudfront_signature(rng):
    # CloudFront-safe base64 of an RSA-SHA1 signature: + -> -, = -> _, / -> ~
    return b64(rng, 256).translate(str.maketrans("+=/", "-_~"))


def ms_refresh_token(rng):
    return "0.A" + chars(rng, URLB64, 130) + ".AgABAAEAAAD" + chars(rng, URLB64, 560)


def syncfusion_license_key(rng):
    return rng.choice(["Ngo9BigBOggjHTQxAR8/", "Mgo+DSMBaFt/QHRqVVhk", "ORg4AjUWIQA/Gnt2"]) + chars(rng, B64, 64) + "="


GENERATORS = {
    # kept from the earlier sets' generator
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
    "twilio_auth_token": lambda r: chars(r, HEX, 32),
    "sendgrid_api_key": lambda r: "SG." + chars(r, URLB64, 22) + "." + chars(r, URLB64, 43),
    "openai_api_key": openai_api_key,
    "anthropic_api_key": lambda r: "sk-ant-api03-" + chars(r, URLB64, 93) + "AA",
    "openrouter_api_key": lambda r: "sk-or-v1-" + chars(r, HEX, 64),
    "groq_api_key": lambda r: "gsk_" + chars(r, ALNUM, 52),
    "google_oauth_client_secret": lambda r: "GOCSPX-" + chars(r, URLB64, 28),
    "azure_client_secret": lambda r: chars(r, ALNUM, 3) + "8Q~" + chars(r, ALNUM + "_.~-", 34),
    "jwt": jwt,
    "basic_auth_blob": basic_auth_blob,
    "pem_private_key": pem_private_key,
    "database_password": password,
    "generic_password": password,
    "registry_password": password,
    "generic_api_key": lambda r: r.choice([chars(r, ALNUM, r.randint(32, 48)), chars(r, HEX, 40)]),
    "vault_token": lambda r: "hvs." + chars(r, URLB64, r.choice([24, 91])),
    "telegram_bot_token": lambda r: digits(r, 10) + ":AA" + chars(r, URLB64, 33),
    "dockerhub_pat": lambda r: "dckr_pat_" + chars(r, URLB64, 27),
    "cloudflare_api_token": lambda r: chars(r, URLB64, 40),
    "azure_sas_signature": azure_sas_signature,
    "circleci_token": lambda r: "CCIPAT_" + chars(r, ALNUM, 22) + "_" + chars(r, HEX, 40),
    "datadog_api_key": lambda r: chars(r, HEX, 32),
    "gcp_refresh_token": lambda r: "1//0" + chars(r, URLB64, 99),
    "wireguard_private_key": lambda r: b64(r, 32),
    "apple_p8_key": apple_p8_key,
    "pkcs12_base64": pkcs12_base64,
    "apple_app_specific_password": apple_app_specific_password,
    "braintree_access_token": braintree_access_token,
    "brevo_api_key": lambda r: "xkeysib-" + chars(r, HEX, 64) + "-" + chars(r, ALNUM, 16),
    "cloudflare_global_api_key": lambda r: chars(r, HEX, 37),
    "fastly_api_token": lambda r: chars(r, URLB64, 32),
    "hcloud_token": lambda r: chars(r, ALNUM, 64),
    "honeycomb_api_key": lambda r: chars(r, ALNUM, 22),
    "keycloak_client_secret": lambda r: chars(r, ALNUM, 32),
    "launchdarkly_key": lambda r: r.choice(["sdk-", "api-"]) + uuid4(r),
    "newrelic_license_key": lambda r: chars(r, HEX, 36) + "NRAL",
    "paypal_client_secret": lambda r: "E" + chars(r, URLB64, 79),
    "shopify_shared_secret": lambda r: "shpss_" + chars(r, HEX, 32),
    "slack_signing_secret": lambda r: chars(r, HEX, 32),
    "square_access_token": lambda r: "EAAA" + chars(r, URLB64, 60),
    "statsig_server_secret": lambda r: "secret-" + chars(r, ALNUM, 43),
    "cohere_api_key": lambda r: chars(r, ALNUM, 40),
    "backblaze_app_key": lambda r: "K00" + chars(r, ALNUM + "/+", 28),
    # new in this set
    "adyen_api_key": lambda r: "AQE" + chars(r, B64, 95) + "==-" + b64(r, 32) + "-" + chars(r, ALNUM, 16),
    "akamai_access_token": lambda r: "akab-" + chars(r, LO + DIG, 16) + "-" + chars(r, LO + DIG, 16),
    "akamai_client_secret": lambda r: b64(r, 32),
    "auth0_client_secret": lambda r: chars(r, URLB64, 64),
    "aws_presigned_signature": lambda r: chars(r, HEX, 64),
    "axiom_token": lambda r: r.choice(["xaat-", "xapt-"]) + uuid4(r),
    "bitbucket_app_password": lambda r: "ATBB" + chars(r, ALNUM, 32),
    "bugsnag_api_key": lambda r: chars(r, HEX, 32),
    "buildkite_token": lambda r: "bkua_" + chars(r, HEX, 40),
    "bunny_api_key": lambda r: uuid4(r) + uuid4(r),
    "cargo_registry_token": lambda r: "cio" + chars(r, ALNUM, 32),
    "checkout_secret_key": lambda r: r.choice(["sk_sbox_", "sk_"]) + chars(r, LO + DIG, 26),
    "cloudfront_signature": cloudfront_signature,
    "commercial_license_key": lambda r: "-".join(chars(r, UP + DIG, 5) for _ in range(5)),
    "configcat_sdk_key": lambda r: "configcat-sdk-1/" + chars(r, URLB64, 22) + "/" + chars(r, URLB64, 22),
    "deepseek_api_key": lambda r: "sk-" + chars(r, HEX, 32),
    "digitalocean_token": lambda r: "dop_v1_" + chars(r, HEX, 64),
    "dnsimple_token": lambda r: r.choice(["dnsimple_a_", "dnsimple_u_"]) + chars(r, ALNUM, 32),
    "dropbox_refresh_token": lambda r: chars(r, URLB64, 64),
    "expo_access_token": lambda r: chars(r, URLB64, 40),
    "firebase_ci_token": lambda r: "1//0" + chars(r, URLB64, 99),
    "flagsmith_server_key": lambda r: "ser." + chars(r, ALNUM, 22),
    "fontawesome_npm_token": lambda r: uuid4(r).upper(),
    "gcs_signed_signature": lambda r: chars(r, HEX, 512),
    "gemini_api_key": lambda r: "AIza" + chars(r, URLB64, 35),
    "gitea_token": lambda r: chars(r, HEX, 40),
    "github_oauth_client_secret": lambda r: chars(r, HEX, 40),
    "github_webhook_secret": lambda r: r.choice([chars(r, HEX, 40), b64url(r, 32)]),
    "gocardless_access_token": lambda r: r.choice(["sandbox_", "live_"]) + chars(r, URLB64, 40),
    "godaddy_api_secret": lambda r: chars(r, ALNUM, 22),
    "google_app_password": lambda r: chars(r, LO, 16),
    "grafana_sa_token": lambda r: "glsa_" + chars(r, ALNUM, 32) + "_" + chars(r, HEX, 8),
    "kaggle_key": lambda r: chars(r, HEX, 32),
    "keystore_password": password,
    "langsmith_api_key": lambda r: r.choice(["lsv2_pt_", "lsv2_sk_"]) + chars(r, HEX, 32) + "_" + chars(r, HEX, 10),
    "ldap_bind_password": password,
    "mailgun_api_key": lambda r: r.choice(["key-" + chars(r, HEX, 32),
                                           chars(r, HEX, 32) + "-" + chars(r, HEX, 8) + "-" + chars(r, HEX, 8)]),
    "mailjet_api_secret": lambda r: chars(r, HEX, 32),
    "mandrill_api_key": lambda r: "md-" + chars(r, URLB64, 22),
    "match_password": password,
    "maxmind_license_key": lambda r: chars(r, ALNUM, 6) + "_" + chars(r, ALNUM, 29) + "_mmk",
    "messagebird_access_key": lambda r: chars(r, ALNUM, 25),
    "mistral_api_key": lambda r: chars(r, ALNUM, 32),
    "mixpanel_api_secret": lambda r: chars(r, HEX, 32),
    "mollie_api_key": lambda r: r.choice(["live_", "test_"]) + chars(r, ALNUM, 30),
    "ms_refresh_token": ms_refresh_token,
    "namecheap_api_key": lambda r: chars(r, HEX, 32),
    "ntfy_access_token": lambda r: "tk_" + chars(r, LO + DIG, 29),
    "okta_client_secret": lambda r: chars(r, URLB64, 64),
    "openvpn_static_key": openvpn_static_key,
    "paddle_webhook_secret": lambda r: "pdl_ntfset_" + chars(r, LO + DIG, 26) + "_" + chars(r, URLB64, 32),
    "perplexity_api_key": lambda r: "pplx-" + chars(r, ALNUM, 48),
    "pinecone_api_key": lambda r: "pcsk_" + chars(r, ALNUM, 5) + "_" + chars(r, ALNUM, 64),
    "plivo_auth_token": lambda r: chars(r, ALNUM, 40),
    "porkbun_secret_key": lambda r: "sk1_" + chars(r, HEX, 64),
    "postmark_server_token": uuid4,
    "pushover_app_token": lambda r: "a" + chars(r, LO + DIG, 29),
    "resend_api_key": lambda r: "re_" + chars(r, ALNUM, 8) + "_" + chars(r, ALNUM, 24),
    "razorpay_key_secret": lambda r: chars(r, ALNUM, 24),
    "rollbar_access_token": lambda r: chars(r, HEX, 32),
    "rubygems_api_key": lambda r: "rubygems_" + chars(r, HEX, 48),
    "salesforce_refresh_token": lambda r: "5Aep861" + chars(r, ALNUM + "._", 80),
    "segment_write_key": lambda r: chars(r, ALNUM, 32),
    "sentry_user_token": lambda r: "sntryu_" + chars(r, HEX, 64),
    "smtp_password": password,
    "snmp_auth_password": password,
    "snmp_community": lambda r: chars(r, ALNUM, r.randint(14, 20)),
    "sparkpost_api_key": lambda r: chars(r, HEX, 40),
    "split_api_key": lambda r: chars(r, LO + DIG, 36),
    "splunk_hec_token": lambda r: r.choice([uuid4(r), uuid4(r).upper()]),
    "spotify_client_secret": lambda r: chars(r, HEX, 32),
    "stripe_webhook_secret": lambda r: "whsec_" + chars(r, ALNUM, 32),
    "svix_signing_secret": lambda r: "whsec_" + b64(r, 24),
    "syncfusion_license_key": syncfusion_license_key,
    "teams_webhook_signature": lambda r: chars(r, URLB64, 43),
    "telnyx_api_key": lambda r: "KEY" + chars(r, UP + DIG, 32) + "_" + chars(r, ALNUM, 22),
    "terraform_cloud_token": lambda r: chars(r, ALNUM, 14) + ".atlasv1." + chars(r, ALNUM, 67),
    "totp_seed": lambda r: chars(r, BASE32, r.choice([16, 32])),
    "twilio_api_key_secret": lambda r: chars(r, ALNUM, 32),
    "unleash_api_token": lambda r: r.choice(["*", "default"]) + ":" + r.choice(["production", "development"]) + "." + chars(r, HEX, 56),
    "vonage_api_secret": lambda r: chars(r, ALNUM, 16),
    "wireguard_preshared_key": lambda r: b64(r, 32),
    "xai_api_key": lambda r: "xai-" + chars(r, ALNUM, 80),
    "zoom_client_secret": lambda r: chars(r, ALNUM, 32),
}

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
