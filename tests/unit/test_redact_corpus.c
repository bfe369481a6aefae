/* SPDX-License-Identifier: Apache-2.0 */
/* test_redact_corpus.c - redaction measured both ways on a corpus of agent
 * commands: recall (every secret of many kinds, generated here at random so
 * that no real-looking key is ever committed, kept out of the redacted
 * argv and the redacted `sh -c` string, whole: no 12-byte piece of it
 * survives) and false positives (benign commands full of hashes, UUIDs,
 * paths and base64 test data, of which at most 2% may change).  Each
 * template is run with several seeds; the numbers are printed.  Properties
 * checked on every result: redacting twice equals redacting once, and a
 * result without [REDACTED] is the input unchanged. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redact.h"

/* --- random values ------------------------------------------------------ */

static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(rng_state >> 33);
}

static const char UP[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char LOW[] = "abcdefghijklmnopqrstuvwxyz";
static const char DIG[] = "0123456789";
static const char HEX[] = "0123456789abcdef";
static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URLSAFE[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
/* passwords people type: letters, digits and punctuation that needs no
 * quoting in a word (templates put them where the shell leaves them alone) */
static const char PW[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+,.^_~";

static char *put(char *p, const char *set, size_t n) {
  size_t m = strlen(set);
  for (size_t i = 0; i < n; i++)
    *p++ = set[rnd() % m];
  *p = '\0';
  return p;
}

static char *lit(char *p, const char *s) {
  size_t n = strlen(s);
  memcpy(p, s, n + 1);
  return p + n;
}

/* a password with at least one letter and one digit */
static void password(char *p, size_t n) {
  *p++ = LOW[rnd() % 26];
  *p++ = DIG[rnd() % 10];
  put(p, PW, n - 2);
}

static void b64_encode(const unsigned char *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
    out[o++] = B64[(v >> 18) & 63];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? B64[v & 63] : '=';
  }
  out[o] = '\0';
}

/* --- secret kinds ---------------------------------------------------------
 * Each kind makes a secret (what must not survive) and the commands an agent
 * would type with it: %s is the secret, %u a random user name.  Templates
 * are written so that splitting on spaces gives the argv an agent would send
 * (no quotes), unless marked SHELL_ONLY (heredocs, quoting). */

#define SHELL_ONLY "!"

typedef struct {
  const char *name;
  void (*gen)(char *out);
  const char *templates[4];
} kind;

static void g_aws_id(char *o) { put(lit(o, "AKIA"), "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16); }
static void g_aws_secret(char *o) { put(o, B64, 40); }
static void g_ghp(char *o) { put(lit(o, "ghp_"), ALNUM, 36); }
static void g_ghpat(char *o) {
  char *p = put(lit(o, "github_pat_11"), ALNUM, 20);
  put(lit(p, "_"), ALNUM, 59);
}
static void g_glpat(char *o) { put(lit(o, "glpat-"), URLSAFE, 20); }
static void g_slack(char *o) {
  char *p = put(lit(o, "xoxb-"), DIG, 12);
  p = put(lit(p, "-"), DIG, 13);
  put(lit(p, "-"), ALNUM, 24);
}
static void g_slack_hook(char *o) {
  char *p = put(lit(o, "T"), UP, 10);
  p = put(lit(p, "/B"), UP, 10);
  put(lit(p, "/"), ALNUM, 24);
}
static void g_openai(char *o) { put(lit(o, "sk-proj-"), URLSAFE, 64); }
static void g_anthropic(char *o) { put(lit(o, "sk-ant-api03-"), URLSAFE, 93); }
static void g_stripe(char *o) { put(lit(o, "sk_live_"), ALNUM, 32); }
static void g_stripe_rk(char *o) { put(lit(o, "rk_live_"), ALNUM, 32); }
static void g_npm(char *o) { put(lit(o, "npm_"), ALNUM, 36); }
static void g_hf(char *o) { put(lit(o, "hf_"), ALNUM, 34); }
static void g_vault(char *o) { put(lit(o, "hvs."), URLSAFE, 24); }
static void g_telegram(char *o) {
  char *p = put(o, DIG, 10);
  put(lit(p, ":AA"), URLSAFE, 33);
}
static void g_google(char *o) { put(lit(o, "AIza"), URLSAFE, 35); }
static void g_sendgrid(char *o) {
  char *p = put(lit(o, "SG."), URLSAFE, 22);
  put(lit(p, "."), URLSAFE, 43);
}
static void g_jwt(char *o) {
  char *p = put(lit(o, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ"), URLSAFE, 40);
  put(lit(p, "."), URLSAFE, 43);
}
static void g_hex40(char *o) { put(o, HEX, 40); }
static void g_hex32(char *o) { put(o, HEX, 32); }
static void g_pw(char *o) { password(o, 14); }
static void g_pw_short(char *o) { password(o, 10); }
static void g_bearer(char *o) { put(o, ALNUM, 40); }
static void g_azure_key(char *o) {
  put(o, B64, 86);
  strcat(o, "==");
}
static void g_pem_body(char *o) {
  char *p = o;
  for (int i = 0; i < 4; i++) {
    p = put(p, B64, 64);
    p = lit(p, "\n");
  }
  put(p, B64, 20);
}
static void g_basic(char *o) {
  char raw[64], *p = put(raw, LOW, 6);
  password(lit(p, ":"), 16);
  b64_encode((const unsigned char *)raw, strlen(raw), o);
}

/* a token encoded: the base64 text is what must not survive */
static void g_b64_token(char *o) {
  char raw[64];
  g_ghp(raw);
  b64_encode((const unsigned char *)raw, strlen(raw), o);
}

static const kind kinds[] = {
    {"aws-access-key-id", g_aws_id,
     {"aws configure set aws_access_key_id %s", "env AWS_ACCESS_KEY_ID=%s aws s3 ls",
      "echo %s"}},
    {"aws-secret-key", g_aws_secret,
     {"aws configure set aws_secret_access_key %s", "env AWS_SECRET_ACCESS_KEY=%s aws s3 ls s3://bucket",
      SHELL_ONLY "cat > ~/.aws/credentials <<EOF\n[default]\naws_access_key_id = AKIAEXAMPLEEXAMPLE12\naws_secret_access_key = %s\nEOF"}},
    {"github-classic", g_ghp,
     {"git clone https://x-access-token:%s@github.com/org/repo.git", "env GITHUB_TOKEN=%s gh pr list",
      "gh auth login --with-token %s"}},
    {"github-fine-grained", g_ghpat, {"echo %s", "curl -H Authorization:token%s https://api.github.com/user"}},
    {"gitlab", g_glpat, {"glab auth login --token %s", "curl --header PRIVATE-TOKEN:%s https://gitlab.com/api/v4/user"}},
    {"slack-token", g_slack, {"env SLACK_BOT_TOKEN=%s node bot.js", "curl -d token=%s https://slack.com/api/auth.test"}},
    {"slack-webhook", g_slack_hook,
     {"curl -X POST -d {} https://hooks.slack.com/services/%s", SHELL_ONLY "export HOOK='https://hooks.slack.com/services/%s'"}},
    {"openai", g_openai, {"env OPENAI_API_KEY=%s python3 app.py", SHELL_ONLY "OPENAI_API_KEY=%s python3 -m app"}},
    {"anthropic", g_anthropic,
     {SHELL_ONLY "curl https://api.anthropic.com/v1/messages -H 'x-api-key: %s' -d @req.json",
      "env ANTHROPIC_API_KEY=%s claude -p hi"}},
    {"stripe-secret", g_stripe, {"curl -u %s: https://api.stripe.com/v1/charges", "stripe --api-key %s customers list"}},
    {"stripe-restricted", g_stripe_rk, {"curl https://api.stripe.com/v1/charges -u %s:"}},
    {"npm", g_npm, {"npm config set //registry.npmjs.org/:_authToken %s", SHELL_ONLY "echo '//registry.npmjs.org/:_authToken=%s' >> ~/.npmrc"}},
    {"huggingface", g_hf, {"huggingface-cli login --token %s", "env HF_TOKEN=%s python3 train.py"}},
    {"vault", g_vault, {"vault login %s", "env VAULT_TOKEN=%s vault kv get secret/app"}},
    {"telegram", g_telegram, {"curl https://api.telegram.org/bot%s/getMe"}},
    {"google-api", g_google, {"curl https://maps.googleapis.com/maps/api/geocode/json?address=x&key=%s"}},
    {"sendgrid", g_sendgrid, {"env SENDGRID_API_KEY=%s node mail.js", SHELL_ONLY "curl -H \"Authorization: Bearer %s\" https://api.sendgrid.com/v3/mail/send"}},
    {"jwt", g_jwt, {SHELL_ONLY "curl -H 'Authorization: Bearer %s' https://api.example.com/me", "echo %s"}},
    {"datadog-app-key", g_hex40, {"env DD_APP_KEY=%s DD_API_KEY=0 datadog-ci sync", "curl -H DD-APPLICATION-KEY:%s https://api.datadoghq.com/api/v1/validate"}},
    {"hex-api-key", g_hex32, {"curl https://api.openweathermap.org/data/2.5/weather?q=Paris&appid=%s", "python3 run.py --api-key %s"}},
    {"password-option", g_pw, {"python3 manage.py createsuperuser --password %s", "wget --password=%s ftp://ftp.example.com/f", "psql --set=ON_ERROR_STOP=1 postgresql://admin:%s@db:5432/app"}},
    {"mysql", g_pw, {"mysql -uroot -p%s app", SHELL_ONLY "mysql -u root -p'%s' -e 'show databases'", SHELL_ONLY "cat > ~/.my.cnf <<EOF\n[client]\nuser = root\npassword = %s\nEOF"}},
    {"curl-user", g_pw, {"curl -u %u:%s https://example.com/api", "curl --user %u:%s -X GET https://x.example/"}},
    {"sshpass", g_pw, {"sshpass -p %s ssh deploy@host uptime", "sshpass -p%s scp f host:/tmp"}},
    {"docker-login", g_pw, {"docker login -u %u -p %s registry.example.com", "docker login --password %s -u %u ghcr.io"}},
    {"redis", g_pw, {"redis-cli -h cache -a %s ping", SHELL_ONLY "redis-cli -u redis://default:%s@cache:6379 ping"}},
    {"archives", g_pw_short, {"7z a -p%s backup.7z data", "zip -P %s out.zip file.txt", "openssl enc -aes-256-cbc -k %s -in f -out f.enc"}},
    {"smb-keytool", g_pw, {"smbclient //srv/share -U %u%%%s", "keytool -genkey -alias a -storepass %s -keystore k.jks"}},
    {"htpasswd", g_pw, {"htpasswd -b -c /etc/nginx/.htpasswd %u %s"}},
    {"netrc-pgpass", g_pw,
     {SHELL_ONLY "echo 'machine api.example.com login %u password %s' >> ~/.netrc",
      SHELL_ONLY "echo 'db.example.com:5432:app:%u:%s' > ~/.pgpass"}},
    {"toml-config", g_bearer,
     {SHELL_ONLY "cat > config.toml <<'EOF'\n[service]\napi_key = \"%s\"\nEOF", SHELL_ONLY "printf 'token: %s\\n' > config.yaml"}},
    {"bearer", g_bearer,
     {SHELL_ONLY "curl -H 'Authorization: Bearer %s' https://api.example.com/v1/items",
      "curl -H Authorization:Bearer%%20%s https://x.example/"}},
    {"azure-storage", g_azure_key,
     {SHELL_ONLY "az storage blob list --connection-string 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=%s;EndpointSuffix=core.windows.net'",
      "az storage container list --account-name acct --account-key %s"}},
    {"pem-key", g_pem_body,
     {SHELL_ONLY "cat > id_rsa <<EOF\n-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\nEOF"}},
    {"basic-auth", g_basic,
     {SHELL_ONLY "curl -H 'Authorization: Basic %s' https://x.example/", SHELL_ONLY "echo '{\"auths\":{\"ghcr.io\":{\"auth\":\"%s\"}}}' > ~/.docker/config.json"}},
    {"encoded-token", g_b64_token,
     {SHELL_ONLY "export GH_TOKEN=$(echo %s | base64 -d) && gh repo list", "echo %s"}},
    {"kubectl-literal", g_pw,
     {"kubectl create secret generic db --from-file=password=/dev/stdin --from-literal=root-password=%s",
      SHELL_ONLY "kubectl create secret docker-registry reg --docker-username=%u --docker-password='%s'"}},
    {"secret-env", g_pw, {SHELL_ONLY "export DB_PASSWORD=%s && ./migrate", "env API_SECRET=%s ./server"}},
};

/* --- running it ----------------------------------------------------------- */

/* the template with its secret and a user name filled in */
static char *fill(const char *t, const char *secret) {
  char user[16];
  put(user, LOW, 6);
  size_t cap = strlen(t) + 4096, o = 0;
  char *out = malloc(cap);
  assert_non_null(out);
  for (const char *p = t; *p; p++) {
    if (p[0] == '%' && p[1] == 's') {
      o += (size_t)snprintf(out + o, cap - o, "%s", secret);
      p++;
    } else if (p[0] == '%' && p[1] == 'u') {
      o += (size_t)snprintf(out + o, cap - o, "%s", user);
      p++;
    } else if (p[0] == '%' && p[1] == '%') {
      out[o++] = '%';
      p++;
    } else {
      out[o++] = *p;
    }
  }
  out[o] = '\0';
  return out;
}

/* the secret or a 12-byte piece of it in s */
static bool leaks(const char *s, const char *secret) {
  size_t n = strlen(secret);
  if (strstr(s, secret))
    return true;
  for (size_t i = 0; n >= 12 && i + 12 <= n; i++) {
    char piece[13];
    memcpy(piece, secret + i, 12);
    piece[12] = '\0';
    if (strchr(piece, '\n') == NULL && strstr(s, piece))
      return true;
  }
  return false;
}

static void check_stable(const char *once) {
  char *twice = al_redact_string(once);
  assert_non_null(twice);
  if (strcmp(twice, once) != 0)
    fail_msg("not stable: '%s' then '%s'", once, twice);
  free(twice);
}

/* the argv of a template: split on spaces */
static char **split(char *line, size_t *argc) {
  char **argv = calloc(64, sizeof(char *));
  assert_non_null(argv);
  size_t n = 0;
  for (char *save = NULL, *w = strtok_r(line, " ", &save); w && n < 63; w = strtok_r(NULL, " ", &save))
    argv[n++] = w;
  *argc = n;
  return argv;
}

static size_t argv_leaks(char *cmd, const char *secret) {
  size_t argc = 0;
  char **argv = split(cmd, &argc);
  json_t *out = al_redact_argv(argv);
  assert_non_null(out);
  size_t bad = 0;
  for (size_t i = 0; i < json_array_size(out); i++) {
    const char *got = json_string_value(json_array_get(out, i));
    check_stable(got);
    if (leaks(got, secret))
      bad = 1;
  }
  if (bad) {
    char *d = json_dumps(out, JSON_COMPACT);
    print_message("  argv leak: %s\n", d);
    free(d);
  }
  json_decref(out);
  free(argv);
  return bad;
}

static size_t shell_leaks(const char *cmd, const char *secret) {
  char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
  json_t *out = al_redact_argv(argv);
  assert_non_null(out);
  const char *got = json_string_value(json_array_get(out, 2));
  check_stable(got);
  size_t bad = leaks(got, secret);
  /* the same text as an error message quoting the command */
  char *derived = al_redact_derived(argv, cmd);
  assert_non_null(derived);
  bad |= leaks(derived, secret);
  if (bad)
    print_message("  shell leak: %s\n", got);
  free(derived);
  json_decref(out);
  return bad;
}

#define ROUNDS 3

/* With AIRLOCK_REDACT_CORPUS_OUT=FILE, the first round's commands are also
 * written there, one JSON object a line ({"kind", "secret", "command",
 * "split"}), for tests/node/redact_e2e.py to send through a real node. */
static FILE *corpus_out(void) {
  const char *path = getenv("AIRLOCK_REDACT_CORPUS_OUT");
  FILE *f = path && *path ? fopen(path, "w") : NULL;
  if (path && *path && f == NULL)
    fail_msg("cannot write %s", path);
  return f;
}

static void test_recall(void **state) {
  (void)state;
  size_t nk = sizeof(kinds) / sizeof(kinds[0]);
  assert_true(nk >= 30);
  size_t cases = 0, leaked = 0, shell_cases = 0, shell_leaked = 0;
  FILE *out = corpus_out();
  /* AIRLOCK_REDACT_SEED: other secrets than the usual ones */
  const char *seed = getenv("AIRLOCK_REDACT_SEED");
  uint64_t base = seed && *seed ? strtoull(seed, NULL, 0) : 0x5eed0000u;
  for (int round = 0; round < ROUNDS; round++) {
    rng_state = base + (uint64_t)round;
    for (size_t k = 0; k < nk; k++) {
      for (size_t t = 0; t < 4 && kinds[k].templates[t]; t++) {
        const char *tpl = kinds[k].templates[t];
        bool shell_only = tpl[0] == '!';
        char secret[1024];
        kinds[k].gen(secret);
        char *cmd = fill(tpl + (shell_only ? 1 : 0), secret);
        if (out && round == 0) {
          json_t *line = json_pack("{s:s,s:s,s:s,s:b}", "kind", kinds[k].name, "secret", secret, "command", cmd,
                                   "split", !shell_only);
          assert_non_null(line);
          assert_int_equal(json_dumpf(line, out, JSON_COMPACT), 0);
          fputc('\n', out);
          json_decref(line);
        }
        if (!shell_only) {
          char *copy = strdup(cmd);
          cases++;
          if (argv_leaks(copy, secret)) {
            leaked++;
            print_message("  [%s] argv: %s\n", kinds[k].name, cmd);
          }
          free(copy);
        }
        shell_cases++;
        if (shell_leaks(cmd, secret)) {
          shell_leaked++;
          print_message("  [%s] shell: %s\n", kinds[k].name, cmd);
        }
        free(cmd);
      }
    }
  }
  if (out)
    assert_int_equal(fclose(out), 0);
  print_message("redaction recall: %zu kinds; argv %zu/%zu secrets kept out, shell string %zu/%zu\n", nk,
                cases - leaked, cases, shell_cases - shell_leaked, shell_cases);
  assert_int_equal(leaked, 0);
  assert_int_equal(shell_leaked, 0);
}

/* --- benign commands ------------------------------------------------------ */

static const char *const benign[] = {
    "git checkout %h",
    "git log --oneline %h..HEAD",
    "git show %h:src/main.c",
    "git cherry-pick %h",
    "git rebase -i %h",
    "git diff %h %H -- docs/",
    "git commit -m Fix_the_build_after_%h",
    "git push origin HEAD:refs/heads/fix-%g",
    "git reset --hard %H",
    "git branch -D feature/%g",
    "docker pull ubuntu@sha256:%x",
    "docker run --rm -e RUN_ID=%u alpine:3.19 true",
    "docker inspect %x",
    "docker rmi %H",
    "kubectl get pod api-%g -o yaml",
    "kubectl logs deploy/web --since=1h",
    "kubectl delete job migrate-%g",
    "sha256sum -c %x",
    "echo %x  dist/app.tar.gz | sha256sum -c",
    "curl https://api.example.com/v1/items/%u",
    "curl -s https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz -o pkg.tgz",
    "curl https://example.com/search?q=hello&page=2",
    "wget https://github.com/org/proj/archive/%H.tar.gz",
    "ls -la /var/log/nginx/",
    "cat /home/user/project/src/%g.c",
    "find . -name *.pyc -delete",
    "grep -rn TODO src/ tests/",
    "python3 -m pytest tests/test_%g.py -k test_roundtrip",
    "python3 scripts/migrate.py --run-id %u --dry-run",
    "node build.js --sourcemap --out dist/bundle.%h.js",
    "npm install lodash@4.17.21",
    "npm run test -- --grep auth",
    "pip install requests==2.31.0",
    "cargo build --release --target x86_64-unknown-linux-gnu",
    "go test ./... -run TestToken -count=1",
    "make -j2 CFLAGS=-O2",
    "echo %b | base64 -d",
    "echo %b > testdata/sample.b64",
    "python3 decode.py --input %b",
    "printf %b | base64 --decode > fixture.bin",
    "jq .items[0].id data/%u.json",
    "aws s3 cp s3://bucket/exports/%u.csv .",
    "aws ec2 describe-instances --instance-ids i-%y",
    "aws logs get-log-events --log-group-name /app --log-stream-name %u",
    "gcloud compute instances describe vm-%g --zone us-central1-a",
    "terraform plan -out plan-%g.tfplan",
    "helm upgrade web ./chart --set image.tag=%h",
    "ssh deploy@10.0.0.12 systemctl status app",
    "scp build/app.tar.gz deploy@host:/opt/releases/%h/",
    "rsync -av --delete ./site/ web:/srv/www/",
    "tar czf backup-%g.tar.gz /srv/data",
    "openssl x509 -in cert.pem -noout -fingerprint -sha256",
    "openssl rand -hex 16",
    "ssh-keygen -lf ~/.ssh/id_ed25519.pub",
    "gpg --verify release-%h.tar.gz.asc",
    "psql -h db -U app -c SELECT_1",
    "mysql -u app -p -e show_tables",
    "redis-cli -h cache ping",
    "docker login -u bot --password-stdin ghcr.io",
    "kubectl create secret generic app --from-file=password=/dev/stdin",
    "curl -u admin https://example.com/",
    "echo request %u done",
    "uuidgen",
    "echo %u >> ids.txt",
    "cp /tmp/upload-%u.dat /srv/in/",
    "mv report_%g.pdf archive/",
    "ln -s /opt/app/releases/%h /opt/app/current",
    "chmod 600 ~/.ssh/config",
    "du -sh node_modules",
    "systemctl restart nginx",
    "journalctl -u app --since today",
    "export PATH=$HOME/.local/bin:$PATH",
    "export NODE_ENV=production",
    "export BUILD_ID=%u",
    "export COMMIT=%H",
    "env LANG=C sort names.txt",
    "git config user.email dev@example.com",
    "git remote add upstream https://github.com/org/proj.git",
    "npm publish --tag next",
    "curl -H Accept:application/json https://api.github.com/repos/org/proj/commits/%H",
    "curl -H Content-Type:application/json -d @body.json https://httpbin.org/post",
    "curl -H If-None-Match:%x https://cdn.example.com/app.js",
    "echo sha512-%b",
    "python3 -c print(1+1)",
    "ruby -e puts(42)",
    "date +%%s",
    "sleep 5",
    "head -c 32 /dev/urandom | xxd -p",
    "nix build .#default --rebuild",
    "dig +short example.com",
    "ping -c 3 1.1.1.1",
    "ip addr show eth0",
    "ffmpeg -i in.mp4 -c:v libx264 -crf 23 out-%g.mp4",
    "convert logo.png -resize 64x64 logo-64.png",
    "sqlite3 app.db .tables",
    "git tag -a v1.2.3 -m release",
    "git stash push -m wip-%g",
    "git fetch origin pull/42/head:pr-42",
    "yarn add react@18.2.0 --exact",
    "poetry add httpx",
    "grep -rn password src/ tests/",
    "python3 manage.py changepassword alice",
    "git log --grep=token --oneline",
    "openssl rand -base64 32 > key.bin",
    "aws s3 cp s3://bucket/%u.bin . --sse-c-key fileb://key.bin",
    "docker build --secret id=npm,src=/root/.npmrc -t app:%h .",
    "pytest -k test_password_reset",
    "ssh -i ~/.ssh/id_ed25519 git@github.com",
    "git config --global credential.helper store",
    "export SESSION_ID=%u",
    "kubectl get secret app -o jsonpath={.data.password}",
    "echo $GITHUB_TOKEN | wc -c",
};

/* %h short commit, %H full commit, %x sha256, %u UUID, %g word, %b base64 of
 * plain text, %y 17 hex (an EC2 id) */
static char *fill_benign(const char *t) {
  static const char *const words[] = {"parser", "login", "cache", "billing", "users", "release", "auth", "tokens"};
  static const char *const texts[] = {"hello world, this is test data", "{\"name\":\"fixture\",\"n\":3}",
                                      "the quick brown fox jumps over the lazy dog", "line one\nline two\n"};
  char *out = malloc(8192);
  assert_non_null(out);
  char *o = out;
  for (const char *p = t; *p; p++) {
    if (*p != '%' || !p[1]) {
      *o++ = *p;
      continue;
    }
    switch (*++p) {
    case 'h': o = put(o, HEX, 7 + rnd() % 6); break;
    case 'H': o = put(o, HEX, 40); break;
    case 'x': o = put(o, HEX, 64); break;
    case 'y': o = put(o, HEX, 17); break;
    case 'g': o = lit(o, words[rnd() % 8]); break;
    case 'u':
      o = put(o, HEX, 8);
      for (int i = 0; i < 3; i++)
        o = put(lit(o, "-"), HEX, 4);
      o = put(lit(o, "-"), HEX, 12);
      break;
    case 'b': {
      const char *s = texts[rnd() % 4];
      b64_encode((const unsigned char *)s, strlen(s), o);
      o += strlen(o);
      break;
    }
    default: *o++ = *p; break;
    }
  }
  *o = '\0';
  return out;
}

static void test_false_positives(void **state) {
  (void)state;
  size_t nb = sizeof(benign) / sizeof(benign[0]);
  assert_true(nb >= 100);
  size_t cases = 0, changed = 0;
  for (int round = 0; round < ROUNDS; round++) {
    rng_state = 0xbe0000u + (uint64_t)round;
    for (size_t i = 0; i < nb; i++) {
      char *cmd = fill_benign(benign[i]);
      /* argv */
      char *copy = strdup(cmd);
      size_t argc = 0;
      char **argv = split(copy, &argc);
      json_t *out = al_redact_argv(argv);
      assert_non_null(out);
      bool diff = false;
      for (size_t j = 0; j < argc; j++) {
        const char *got = json_string_value(json_array_get(out, j));
        if (strcmp(got, argv[j]) != 0)
          diff = true;
      }
      json_decref(out);
      free(argv);
      free(copy);
      /* the same command as a shell string: never longer when unchanged */
      char *sh[] = {"/bin/sh", "-c", cmd, NULL};
      out = al_redact_argv(sh);
      assert_non_null(out);
      const char *got = json_string_value(json_array_get(out, 2));
      if (strcmp(got, cmd) != 0)
        diff = true;
      if (strstr(got, AL_REDACTED) == NULL)
        assert_string_equal(got, cmd);
      json_decref(out);
      cases++;
      if (diff) {
        changed++;
        print_message("  changed: %s\n", cmd);
      }
      free(cmd);
    }
  }
  print_message("redaction false positives: %zu of %zu benign commands changed (%.1f%%)\n", changed, cases,
                100.0 * (double)changed / (double)cases);
  assert_true(changed * 50 <= cases); /* at most 2% */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_recall),
      cmocka_unit_test(test_false_positives),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
