# SPDX-License-Identifier: Apache-2.0
"""Fresh random secrets of realistic shape for the fourth blind redaction
corpus, and the commands they are put into.

    make_secret(kind)          -> a new random secret of that kind
    fill(template, secret)     -> the template with {{SECRET}} replaced
    load_templates(path)       -> [(kind, template)] from commands.tsv
    python3 secrets.py --seed 7 -n 50     # JSON lines {"kind","secret","command"}
    python3 secrets.py --list-kinds
    python3 secrets.py --check            # templates and generators agree

The interface is the earlier held-out sets', so the same evaluator can run
any of them.  Copied from the third set's generator (a self-contained copy
per corpus); kinds this corpus does not use were dropped and new kinds
added (the third block of generators).  Values come from the standard
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
    "age_secret_key": lambda r: "AGE-SECRET-KEY-1" + chars(r, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58),
    "telegram_bot_token": lambda r: digits(r, 10) + ":AA" + chars(r, URLB64, 33),
    "doppler_token": lambda r: "dp.st." + r.choice(["dev", "prd", "stg"]) + "." + chars(r, ALNUM, 40),
    "dockerhub_pat": lambda r: "dckr_pat_" + chars(r, URLB64, 27),
    "fly_token": fly_token,
    "cloudflare_api_token": lambda r: chars(r, URLB64, 40),
}


# ---- kinds added for the third corpus (those still used here) ----

def uuid4(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def azure_devops_pat(rng):
    if rng.random() < 0.5:
        return chars(rng, LO + "234567", 52)
    return chars(rng, ALNUM, 52) + "JQQJ99" + "AZDO" + chars(rng, ALNUM, 4) + chars(rng, ALNUM, 18)


def azure_sas_signature(rng):
    # the sig= value of a SAS URL: base64 of an HMAC-SHA256, percent-encoded
    return urllib.parse.quote(b64(rng, 32), safe="")


NEW_GENERATORS = {
    "azure_devops_pat": azure_devops_pat,
    "circleci_token": lambda r: "CCIPAT_" + chars(r, ALNUM, 22) + "_" + chars(r, HEX, 40),
    "heroku_api_key": lambda r: "HRKU-AA" + chars(r, URLB64, 58),
    "netlify_token": lambda r: "nfp_" + chars(r, ALNUM, 36),
    "vercel_token": lambda r: chars(r, ALNUM, 24),
    "datadog_api_key": lambda r: chars(r, HEX, 32),
    "sonar_token": lambda r: r.choice(["squ_", "sqp_", "sqa_"]) + chars(r, HEX, 40),
    "gcp_access_token": lambda r: "ya29." + chars(r, URLB64, r.randint(150, 220)),
    "gcp_refresh_token": lambda r: "1//0" + chars(r, URLB64, 99),
    "azure_sas_signature": azure_sas_signature,
    "wireguard_private_key": lambda r: b64(r, 32),
    "laravel_app_key": lambda r: "base64:" + b64(r, 32),
    "rails_master_key": lambda r: chars(r, HEX, 32),
    "django_secret_key": lambda r: chars(r, LO + DIG + "-_=+", 50),
    "generic_hex_secret": lambda r: chars(r, HEX, r.choice([64, 128])),
    "uuid_api_token": uuid4,
    "k8s_bootstrap_token": lambda r: chars(r, LO + DIG, 6) + "." + chars(r, LO + DIG, 16),
}
GENERATORS.update(NEW_GENERATORS)


# ---- kinds added for the fourth corpus ----

def _armor_lines(body, width):
    return [body[i:i + width] for i in range(0, len(body), width)]


def pgp_private_key(rng):
    # an ASCII-armoured secret key block: blank line after the header,
    # 64-column base64 body, a CRC24 line starting with "="
    body = "lQ" + rng.choice(["OYBG", "VYBG", "dGBG"]) + chars(rng, B64, rng.randint(1200, 1500))
    crc = "=" + chars(rng, B64, 4)
    return "\n".join(["-----BEGIN PGP PRIVATE KEY BLOCK-----", ""] + _armor_lines(body, 64)
                     + [crc, "-----END PGP PRIVATE KEY BLOCK-----"])


def apple_p8_key(rng):
    # App Store Connect / APNs .p8 key: a PKCS#8 P-256 key
    body = "MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg" + chars(rng, B64, 140)
    return "\n".join(["-----BEGIN PRIVATE KEY-----"] + _armor_lines(body, 64)
                     + ["-----END PRIVATE KEY-----"])


def k8s_client_key_data(rng):
    # kubeconfig client-key-data: base64 of a whole PEM key, on one line
    pem = pem_private_key(rng)
    if "OPENSSH" in pem:
        pem = pem.replace("OPENSSH ", "RSA ")
    return base64.b64encode((pem + "\n").encode()).decode()


def pkcs12_base64(rng):
    # a keystore (.p12/.jks) as CI stores it: base64 on one line
    return "MII" + rng.choice(["KYQIBAzCC", "JqQIBAzCC", "LAgIBAzCC"]) + chars(rng, B64, rng.randint(1800, 2400)) + "="


def urlencoded_password(rng):
    # a password with reserved characters, percent-encoded as in a DSN
    pw = chars(rng, ALNUM, 4)
    for _ in range(rng.randint(3, 5)):
        pw += rng.choice("@:/#?%!&+") + chars(rng, ALNUM, rng.randint(2, 4))
    return urllib.parse.quote(pw, safe="")


def session_cookie(rng):
    kind = rng.randint(0, 3)
    if kind == 0:   # Rails cookie store: base64--base64
        return chars(rng, B64, rng.randint(180, 260)) + "--" + chars(rng, B64, 24) + "--" + chars(rng, B64, 22) + "%3D%3D"
    if kind == 1:   # Django sessionid
        return chars(rng, LO + DIG, 32)
    if kind == 2:   # express-session connect.sid
        return "s%3A" + chars(rng, URLB64, 32) + "." + chars(rng, URLB64, 43)
    return chars(rng, HEX, 64)   # PHPSESSID-style or Laravel-style hex session


def elastic_api_key(rng):
    return base64.b64encode((chars(rng, URLB64, 20) + ":" + chars(rng, URLB64, 22)).encode()).decode()


def grafana_cloud_token(rng):
    claims = {"o": digits(rng, 6), "n": rng.choice(["agent-write", "ci-publish"]),
              "k": chars(rng, ALNUM, 24), "m": {"r": rng.choice(["prod-eu-west-2", "prod-us-east-0"])}}
    return "glc_" + base64.b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()


def onepassword_sa_token(rng):
    claims = {"signInAddress": "acme.1password.com", "userAuth": {"method": "SRPg-4096", "alg": "PBES2g-HS256",
              "iterations": 650000, "salt": chars(rng, URLB64, 22)}, "email": chars(rng, LO, 13) + "@1passwordserviceaccounts.com",
              "srpX": chars(rng, HEX, 64), "muk": {"alg": "A256GCM", "ext": True, "k": chars(rng, URLB64, 43),
              "key_ops": ["encrypt", "decrypt"], "kty": "oct", "kid": "mp"}, "secretKey": "A3-" + chars(rng, UP + DIG, 6),
              "throttleSecret": {"seed": chars(rng, HEX, 64), "uuid": chars(rng, UP + DIG, 26)}, "deviceUuid": chars(rng, LO + DIG, 26)}
    return "ops_" + base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")


def asana_pat(rng):
    return "2/" + digits(rng, 16) + "/" + digits(rng, 16) + ":" + chars(rng, HEX, 32)


def salesforce_session_id(rng):
    return "00D" + chars(rng, ALNUM, 12) + "!" + chars(rng, ALNUM, 28) + "." + chars(rng, ALNUM + "._", 67)


def bitwarden_access_token(rng):
    return "0." + uuid4(rng) + "." + chars(rng, ALNUM, 30) + ":" + b64(rng, 16)


def braintree_access_token(rng):
    return "access_token$production$" + chars(rng, LO + DIG, 16) + "$" + chars(rng, HEX, 32)


def firebase_server_key(rng):
    return "AAAA" + chars(rng, URLB64, 7) + ":APA91b" + chars(rng, URLB64, 134)


def apple_app_specific_password(rng):
    return "-".join(chars(rng, LO, 4) for _ in range(4))


FOURTH_GENERATORS = {
    "pgp_private_key": pgp_private_key,
    "apple_p8_key": apple_p8_key,
    "k8s_client_key_data": k8s_client_key_data,
    "pkcs12_base64": pkcs12_base64,
    "urlencoded_password": urlencoded_password,
    "session_cookie": session_cookie,
    "elastic_api_key": elastic_api_key,
    "grafana_cloud_token": grafana_cloud_token,
    "onepassword_sa_token": onepassword_sa_token,
    "asana_pat": asana_pat,
    "salesforce_session_id": salesforce_session_id,
    "bitwarden_access_token": bitwarden_access_token,
    "braintree_access_token": braintree_access_token,
    "firebase_server_key": firebase_server_key,
    "apple_app_specific_password": apple_app_specific_password,
    "k8s_secret_b64": lambda r: base64.b64encode(password(r).encode()).decode(),
    "k8s_encryption_key": lambda r: b64(r, 32),
    "consul_gossip_key": lambda r: b64(r, 32),
    "vault_unseal_key": lambda r: b64(r, 32),
    "nextauth_secret": lambda r: b64(r, 32),
    "flask_secret_key": lambda r: b64url(r, 32),
    "erlang_cookie": lambda r: chars(r, UP, 20),
    "swarm_join_token": lambda r: "SWMTKN-1-" + chars(r, LO + DIG, 50) + "-" + chars(r, LO + DIG, 25),
    "k3s_token": lambda r: "K10" + chars(r, HEX, 64) + "::server:" + chars(r, HEX, 32),
    "rancher_token": lambda r: "token-" + chars(r, LO + DIG, 5) + ":" + chars(r, LO + DIG, 54),
    "portainer_token": lambda r: "ptr_" + chars(r, URLB64, 43),
    "infisical_token": lambda r: "st." + chars(r, HEX, 24) + "." + chars(r, HEX, 32) + "." + chars(r, HEX, 32),
    "quay_robot_token": lambda r: chars(r, UP + DIG, 64),
    "artifactory_api_key": lambda r: "AKCp" + chars(r, ALNUM, 69),
    "jenkins_api_token": lambda r: "11" + chars(r, HEX, 32),
    "octopus_api_key": lambda r: "API-" + chars(r, UP + DIG, 26),
    "gitea_token": lambda r: chars(r, HEX, 40),
    "gitlab_deploy_token": lambda r: "gldt-" + chars(r, URLB64, 20),
    "travis_token": lambda r: chars(r, URLB64, 22),
    "pulumi_access_token": lambda r: "pul-" + chars(r, HEX, 40),
    "postman_api_key": lambda r: "PMAK-" + chars(r, HEX, 24) + "-" + chars(r, HEX, 34),
    "planetscale_password": lambda r: r.choice(["pscale_pw_", "pscale_tkn_"]) + chars(r, URLB64, 43),
    "neon_db_password": lambda r: "npg_" + chars(r, ALNUM, 12),
    "upstash_token": lambda r: "A" + r.choice("XYZ") + chars(r, URLB64, 6) + "AIjcDE" + chars(r, URLB64, 52),
    "clerk_secret_key": lambda r: r.choice(["sk_live_", "sk_test_"]) + chars(r, ALNUM, 42),
    "anthropic_admin_key": lambda r: "sk-ant-admin01-" + chars(r, URLB64, 93) + "AA",
    "slack_user_token": lambda r: "xoxp-" + digits(r, 12) + "-" + digits(r, 12) + "-" + digits(r, 13) + "-" + chars(r, HEX, 32),
    "slack_app_token": lambda r: "xapp-1-A" + chars(r, UP + DIG, 10) + "-" + digits(r, 13) + "-" + chars(r, HEX, 64),
    "slack_signing_secret": lambda r: chars(r, HEX, 32),
    "sentry_org_token": sentry_org_token,
    "newrelic_user_key": lambda r: "NRAK-" + chars(r, UP + DIG, 27),
    "newrelic_license_key": lambda r: chars(r, HEX, 36) + "NRAL",
    "honeycomb_api_key": lambda r: chars(r, ALNUM, 22),
    "dynatrace_token": lambda r: "dt0c01." + chars(r, UP + DIG, 24) + "." + chars(r, UP + DIG, 64),
    "pagerduty_token": lambda r: "u+" + chars(r, URLB64, 18),
    "mailchimp_api_key": lambda r: chars(r, HEX, 32) + "-us" + str(r.randint(1, 21)),
    "brevo_api_key": lambda r: "xkeysib-" + chars(r, HEX, 64) + "-" + chars(r, ALNUM, 16),
    "mailersend_token": lambda r: "mlsn." + chars(r, HEX, 64),
    "square_access_token": lambda r: "EAAA" + chars(r, URLB64, 60),
    "paystack_secret_key": lambda r: "sk_live_" + chars(r, HEX, 40),
    "flutterwave_secret_key": lambda r: "FLWSECK-" + chars(r, HEX, 32) + "-X",
    "plaid_secret": lambda r: chars(r, HEX, 30),
    "paypal_client_secret": lambda r: "E" + chars(r, URLB64, 79),
    "shopify_shared_secret": lambda r: "shpss_" + chars(r, HEX, 32),
    "stripe_restricted_key": lambda r: "rk_live_51" + chars(r, ALNUM, 97),
    "pusher_app_secret": lambda r: chars(r, HEX, 20),
    "ably_api_key": lambda r: chars(r, ALNUM, 6) + "." + chars(r, ALNUM, 6) + ":" + chars(r, URLB64, 43),
    "algolia_admin_key": lambda r: chars(r, HEX, 32),
    "launchdarkly_key": lambda r: r.choice(["sdk-", "api-"]) + uuid4(r),
    "statsig_server_secret": lambda r: "secret-" + chars(r, ALNUM, 43),
    "posthog_personal_key": lambda r: "phx_" + chars(r, ALNUM, 43),
    "contentful_pat": lambda r: "CFPAT-" + chars(r, URLB64, 43),
    "clickup_token": lambda r: "pk_" + digits(r, 8) + "_" + chars(r, UP + DIG, 32),
    "typeform_token": lambda r: "tfp_" + chars(r, ALNUM, 44) + "_" + chars(r, ALNUM, 14),
    "zendesk_api_token": lambda r: chars(r, ALNUM, 40),
    "cohere_api_key": lambda r: chars(r, ALNUM, 40),
    "together_api_key": lambda r: chars(r, HEX, 64),
    "fireworks_api_key": lambda r: "fw_" + chars(r, ALNUM, 24),
    "elevenlabs_api_key": lambda r: "sk_" + chars(r, HEX, 48),
    "voyage_api_key": lambda r: "pa-" + chars(r, URLB64, 43),
    "cerebras_api_key": lambda r: "csk-" + chars(r, LO + DIG, 48),
    "alibaba_access_key_secret": lambda r: chars(r, ALNUM, 30),
    "tencent_secret_key": lambda r: chars(r, ALNUM, 32),
    "ibmcloud_api_key": lambda r: chars(r, URLB64, 44),
    "linode_token": lambda r: chars(r, HEX, 64),
    "hcloud_token": lambda r: chars(r, ALNUM, 64),
    "vultr_api_key": lambda r: chars(r, UP + DIG, 36),
    "backblaze_app_key": lambda r: "K00" + chars(r, ALNUM + "/+", 28),
    "cloudflare_global_api_key": lambda r: chars(r, HEX, 37),
    "cloudflare_origin_ca_key": lambda r: "v1.0-" + chars(r, HEX, 24) + "-" + chars(r, HEX, 146),
    "fastly_api_token": lambda r: chars(r, URLB64, 32),
    "render_api_key": lambda r: "rnd_" + chars(r, ALNUM, 32),
    "tailscale_api_key": lambda r: "tskey-api-k" + chars(r, ALNUM, 11) + "-" + chars(r, ALNUM, 33),
    "confluent_api_secret": lambda r: chars(r, ALNUM + "+/", 64),
    "keycloak_client_secret": lambda r: chars(r, ALNUM, 32),
    "influxdb_token": lambda r: b64url(r, 64) + "==",
}
GENERATORS.update(FOURTH_GENERATORS)

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
