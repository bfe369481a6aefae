/* SPDX-License-Identifier: Apache-2.0 */
/* test_redact.c - redaction of secrets from argv and text (redact.c): a
 * table of argv vectors with what must be hidden and what must stay, one of
 * free-text strings, operator patterns, and UTF-8 clean-up.  Every result is
 * also redacted a second time: redaction must be stable. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

#define R AL_REDACTED

/* want[0] == NULL: the argv must come back unchanged */
typedef struct {
  const char *argv[10];
  const char *want[10];
} argv_case;

static const argv_case argv_cases[] = {
    /* names next to values */
    {{"tool", "--password", "hunter2"}, {"tool", "--password", R}},
    {{"tool", "--password=hunter2", "x"}, {"tool", "--password=" R, "x"}},
    {{"tool", "--token", "abc123", "--verbose"}, {"tool", "--token", R, "--verbose"}},
    {{"tool", "--api-key=xyz", "--apiKey", "q1"}, {"tool", "--api-key=" R, "--apiKey", R}},
    {{"tool", "-client_secret", "s3"}, {"tool", "-client_secret", R}},
    {{"env", "DB_PASSWORD=s3cr3t pass", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", "run"},
     {"env", "DB_PASSWORD=" R, "AWS_SECRET_ACCESS_KEY=" R, "run"}},
    {{"env", "OPENAI_API_KEY=abc", "HF_TOKEN=def", "X_AUTH=ghi"},
     {"env", "OPENAI_API_KEY=" R, "HF_TOKEN=" R, "X_AUTH=" R}},
    {{"openssl", "enc", "-pass", "pass:hunter2"}, {"openssl", "enc", "-pass", "pass:" R}},
    /* mysql-like tools: only --password=VALUE */
    {{"mysql", "--password=hunter2", "db"}, {"mysql", "--password=" R, "db"}},
    {{"mysql", "-p", "db"}, {0}},
    {{"mysql", "--password", "db"}, {0}},
    {{"sudo", "mariadb-dump", "--password", "shop"}, {0}},
    /* headers */
    {{"curl", "-H", "Authorization: Bearer abc.def.ghi", "https://x"},
     {"curl", "-H", "Authorization: Bearer " R, "https://x"}},
    {{"curl", "-H", "authorization:Basic dXNlcjpwYXNz"}, {"curl", "-H", "authorization:Basic " R}},
    {{"curl", "-H", "X-Api-Key: abc def"}, {"curl", "-H", "X-Api-Key: " R}},
    {{"curl", "-H", "Cookie: session=abc; theme=dark"}, {"curl", "-H", "Cookie: " R}},
    {{"curl", "-u", "alice:wonderland", "https://x"}, {"curl", "-u", "alice:" R, "https://x"}},
    {{"curl", "--user=alice:wonderland"}, {"curl", "--user=alice:" R}},
    {{"curl", "-d", "{\"password\":\"hunter2\",\"user\":\"x\"}"},
     {"curl", "-d", "{\"password\":\"" R "\",\"user\":\"x\"}"}},
    /* URLs */
    {{"git", "clone", "https://bob:pa55w0rd@github.com/x/y.git"},
     {"git", "clone", "https://bob:" R "@github.com/x/y.git"}},
    {{"psql", "postgres://u:p@ss@db:5432/x"}, {"psql", "postgres://u:" R "@db:5432/x"}},
    {{"curl", "https://api.example.com/v1?access_token=abc123&page=2"},
     {"curl", "https://api.example.com/v1?access_token=" R "&page=2"}},
    /* token shapes */
    {{"echo", "AKIAIOSFODNN7EXAMPLE"}, {"echo", R}},
    {{"echo", "key=ASIAY34FZKBOKMUTVV7A,"}, {"echo", "key=" R}},
    {{"echo", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}, {"echo", R}},
    {{"echo", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"}, {"echo", R}},
    {{"echo", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789_-AB"}, {"echo", R}},
    {{"echo", "sk-proj-Ab3dEf6hIj9kLmN0pQrStUvWx"}, {"echo", R}},
    {{"echo", "xoxb-1234567890-abcdefghij"}, {"echo", R}},
    {{"echo", "AIzaSyA1234567890abcdefghijklmnopqrstuv"}, {"echo", R}},
    {{"echo", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-_def"}, {"echo", R}},
    {{"airlock", "exec", "--token", "x", "node_tok_ezHfIdo1hINSw0U0GosEVp55UrUdkovhWYN3LbxqLAk"},
     {"airlock", "exec", "--token", R, R}},
    {{"sh", "-c", "curl -H 'Authorization: Bearer tok123456' https://api && echo AKIAIOSFODNN7EXAMPLE"},
     {"sh", "-c", "curl -H 'Authorization: Bearer " R "' https://api && echo " R}},
    {{"sshpass", "-p", "pw123", "ssh", "-p", "22", "host"}, {"sshpass", "-p", R, "ssh", "-p", "22", "host"}},
    /* benign: unchanged */
    {{"ls", "-la", "/tmp"}, {0}},
    {{"git", "commit", "--author=Jane Doe <j@example.com>", "-m", "fix auth bug"}, {0}},
    {{"python", "train.py", "--max-tokens=100", "--tokenizer", "bert"}, {0}},
    {{"mkdir", "-p", "/tmp/a"}, {0}},
    {{"ssh", "-p", "22", "user@host"}, {0}},
    {{"env", "PWD=/home/user", "OLDPWD=/", "make"}, {0}},
    {{"pip", "install", "scikit-learn", "sk-learn-feature-extraction-text"}, {0}},
    {{"echo", "task-1234567890abcdefghijklmno"}, {0}},
    {{"git", "log", "--oneline", "abc123def456"}, {0}},
    {{"curl", "https://example.com/path?page=2&q=hello"}, {0}},
    {{"grep", "-r", "password", "."}, {0}},
    {{"kubectl", "get", "secret", "my-secret", "-o", "yaml"}, {0}},
    {{"docker", "login", "--password-stdin", "registry.example.com"}, {0}},
    {{"node", "--no-auth", "server.js"}, {0}},
    {{"tool", "--auth-type", "basic", "--token-file", "/run/t"}, {0}},
    {{"echo", "The author wrote basic tests; bearer of news"}, {0}},
    {{"sh", "-c", "[ \"$a\" == \"$b\" ] && echo ok"}, {0}},
    /* an assignment that begins a shell string hides its value, not the command after it */
    {{"sh", "-c", "PGPASSWORD=s3cr3tpass psql -h db -U app"}, {"sh", "-c", "PGPASSWORD=" R " psql -h db -U app"}},
    /* while an argv element is one value, blanks and all */
    {{"env", "API_TOKEN=a b c", "run"}, {"env", "API_TOKEN=" R, "run"}},
    /* a here-string given to a command about a secret */
    {{"sh", "-c", "wrangler secret put API_KEY <<< \"cf_8a7b6c5d4e3f\" && echo ok"},
     {"sh", "-c", "wrangler secret put API_KEY <<< \"" R "\" && echo ok"}},
    {{"sh", "-c", "grep -c x <<< \"cf_8a7b6c5d4e3f\""}, {0}},
    /* a reference to a secret, not one */
    {{"docker", "build", "--secret", "id=npm,src=/root/.npmrc", "."}, {0}},
    {{"docker", "build", "--secret", "id=npm,token=abc123def", "."}, {"docker", "build", "--secret", R, "."}},
    {{"ssh-keygen", "-p", "-P", "oldpass123", "-N", "newpass456", "-f", "key"},
     {"ssh-keygen", "-p", "-P", R, "-N", R, "-f", "key"}},
    {{"rclone", "config", "create", "s3", "s3", "secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
     {"rclone", "config", "create", "s3", "s3", "secret_access_key", R}},
    {{"base64", "QUtJQUlPU0ZPRE5ON0VYQU1QTEVBS0lBSU9TRk9ETk43RVhBTVBMRQ=="}, {"base64", R}}, /* decoded: an AWS key */
};

static const struct {
  const char *in, *want; /* want NULL: unchanged */
} string_cases[] = {
    {"password=hunter2 user=bob", "password=" R " user=bob"},
    {"export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "export GITHUB_TOKEN=" R},
    {"Server=x;Password=abc;Database=y", "Server=x;Password=" R ";Database=y"},
    {"db:\n  password: hunter2\n  host: x", "db:\n  password: " R "\n  host: x"},
    {"PASSWORD=\"a b c\" ./run", "PASSWORD=\"" R "\" ./run"},
    {"curl -d \"{\\\"token\\\":\\\"abc\\\"}\" x", "curl -d \"{\\\"token\\\":\\\"" R "\\\"}\" x"},
    {"Authorization: Digest username=\"a\", response=\"b\"\nnext", "Authorization: Digest " R "\nnext"},
    {"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK=\n-----END RSA PRIVATE KEY-----\n",
     "-----BEGIN RSA PRIVATE KEY-----" R "-----END RSA PRIVATE KEY-----\n"},
    {"key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",
     "key: -----BEGIN OPENSSH PRIVATE KEY-----" R},
    {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", NULL},
    {"mysql://root:toor@localhost/db and ftp://anon@host/", "mysql://root:" R "@localhost/db and ftp://anon@host/"},
    /* where the data goes: stdin of a tool that reads a secret, a secret file */
    {"echo Zq8pW3xLm | docker login -u ci --password-stdin reg.example", "echo " R " | docker login -u ci --password-stdin reg.example"},
    {"printf '%s' 'Zq8pW3xLm' | podman login --password-stdin r", "printf '%s' '" R "' | podman login --password-stdin r"},
    {"echo 'Zq8pW3xLm' | sudo -S apt-get update", "echo '" R "' | sudo -S apt-get update"},
    {"echo 'deploy:Zq8pW3xLm' | chpasswd", "echo '" R "' | chpasswd"},
    {"echo -n Zq8pW3xLm | gh secret set DEPLOY_KEY", "echo -n " R " | gh secret set DEPLOY_KEY"},
    {"echo s3cretval | kubectl create secret generic db --from-file=password=/dev/stdin",
     "echo " R " | kubectl create secret generic db --from-file=password=/dev/stdin"},
    {"docker login -u ci --password-stdin r <<< Zq8pW3xLm", "docker login -u ci --password-stdin r <<< " R},
    {"echo Zq8pW3xLm > ~/.vault-token", "echo " R " > ~/.vault-token"},
    {"echo Zq8pW3xLm | tee ~/.config/app/token.txt", "echo " R " | tee ~/.config/app/token.txt"},
    {"echo \"$REG_PASS\" | docker login -u ci --password-stdin r", NULL},
    {"echo hello | grep h && echo done > out.txt", NULL},
    {"curl -u \"$STRIPE_KEY:\" https://api.example", NULL},
    /* printf's arguments in the output its format makes; sed's replacement */
    {"printf 'machine h\\nlogin u\\npassword %s\\n' Zq8pW3xLm >> ~/.netrc",
     "printf 'machine h\\nlogin u\\npassword %s\\n' " R " >> ~/.netrc"},
    {"printf '[db]\\nuser=%s\\npassword=%s\\n' app Zq8pW3xLm > db.ini",
     "printf '[db]\\nuser=%s\\npassword=%s\\n' app " R " > db.ini"},
    {"printf '%s\\n' done > out.txt", NULL},
    {"sed -i 's/^secret_key: .*/secret_key: Zq8pW3xLm/' app.yml", "sed -i 's/^secret_key: .*/secret_key: " R "/' app.yml"},
    {"sed -i 's/foo/bar/g' app.yml", NULL},
    /* code strings: spaced assignments, setters, SQL, expect */
    {"python3 -c \"db.password = 'Zq8pW3xLm'; db.save()\"", "python3 -c \"db.password = '" R "'; db.save()\""},
    {"node -e \"user.setPassword('Zq8pW3xLm')\"", "node -e \"user.setPassword('" R "')\""},
    {"python3 -c \"print(get_secret('DB_NAME'))\"", NULL},
    {"mysql -e \"CREATE USER 'app'@'%' IDENTIFIED BY 'Zq8pW3xLm'\"", "mysql -e \"CREATE USER 'app'@'%' IDENTIFIED BY '" R "'\""},
    {"psql -c \"ALTER ROLE app WITH PASSWORD 'Zq8pW3xLm'\"", "psql -c \"ALTER ROLE app WITH PASSWORD '" R "'\""},
    {"expect -c 'spawn ssh u@h; expect \"password:\"; send \"Zq8pW3xLm\\r\"; interact'",
     "expect -c 'spawn ssh u@h; expect \"password:\"; send \"" R "\\r\"; interact'"},
    {"expect -c 'spawn ssh u@h; expect \"$ \"; send \"uptime\\r\"'", NULL},
    /* names tools read secrets from, shapes */
    {"SSHPASS=Zq8pW3xLm sshpass -e ssh u@h", "SSHPASS=" R " sshpass -e ssh u@h"},
    {"java -jar ks.jar --storepass=Zq8pW3xLm", "java -jar ks.jar --storepass=" R},
    {"echo AGE-SECRET-KEY-1QQQQQ7Z9X8W7V6U5T4S3R2Q1P0N9M8L7K6J5H4G3F2E1D0C9B8A7Z6 > k",
     "echo " R " > k"},
    {"export AZURE_STORAGE_KEY=U2QvhTT4xlfsE0pdmYoXNjKfEYNq6Pi/MYhmn6t9CjEAEJ+jLwsBavANi3Ze9v8mKgDO==",
     "export AZURE_STORAGE_KEY=" R},
    {"echo Zq8pW3xLm | vault login -", "echo " R " | vault login -"},
    {"echo Zq8pW3xLm | sshpass ssh u@h", "echo " R " | sshpass ssh u@h"},
    {"gcloud secrets versions add db-pw --data-file=-", NULL},
    {"docker login -u ci --password-stdin r <<EOF\nZq8pW3xLm\nEOF", "docker login -u ci --password-stdin r <<EOF\n" R "\nEOF"},
    {"cat <<'EOF' | sudo -S true\nZq8pW3xLm\nEOF", "cat <<'EOF' | sudo -S true\n" R "\nEOF"},
    {"cat > ~/.vault-token <<EOF\nZq8pW3xLm\nEOF", "cat > ~/.vault-token <<EOF\n" R "\nEOF"},
    {"cat > notes.txt <<EOF\nhello world\nEOF", NULL},
    /* subscripts, hashes, calls with several literals, log-ins */
    {"python3 -c \"os.environ['DB_PASSWORD'] = 'Zq8pW3xLm'; main()\"",
     "python3 -c \"os.environ['DB_PASSWORD'] = '" R "'; main()\""},
    {"ruby -e \"ENV['API_TOKEN']='Zq8pW3xLm'\"", "ruby -e \"ENV['API_TOKEN']='" R "'\""},
    {"perl -e 'my %c = (\"password\" => \"Zq8pW3xLm\")'", "perl -e 'my %c = (\"password\" => \"" R "\")'"},
    {"ruby -e 'Client.new(:password => \"Zq8pW3xLm\")'", "ruby -e 'Client.new(:password => \"" R "\")'"},
    {"node -e \"client.use(new BasicAuth('deploy', 'Zq8pW3xLm')).get(u)\"",
     "node -e \"client.use(new BasicAuth('" R "', '" R "')).get(u)\""},
    {"python3 -c \"smtp.login('me@example.com', 'Zq8pW3xLm')\"", "python3 -c \"smtp.login('me@example.com', '" R "')\""},
    {"python3 -c \"x = {'a': 1}; print(x['a'] == 1)\"", NULL},
    {"echo Zq8pW3xLm | vercel env add API_TOKEN production", "echo " R " | vercel env add API_TOKEN production"},
    {"echo https://x | vercel env add API_URL production", NULL},
    {"sqlplus -s scott/Zq8pW3xLm@orcl @run.sql", "sqlplus -s scott/" R "@orcl @run.sql"},
    {"sqlplus / as sysdba", NULL},
    /* vendor prefixes: Doppler (with its config), Pulumi, Google OAuth client
     * secrets, Databricks; each with a near miss that stays */
    {"doppler run --token dp.st.prd.Qw3rTy8uIoP4aSdF5gHjK6lZxC7vBnM2qWeRtYuI0o -- ./app",
     "doppler run --token " R " -- ./app"},
    {"echo dp.pt.Qw3rTy8uIoP4aSdF5gHjK6lZxC7vBnM2qWeRtYuI0o", "echo " R},
    {"ls dp.st.notes dp.ct.md", NULL},
    {"echo pul-0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c > t", "echo " R " > t"},
    {"git checkout -b pul-request-fixes-for-the-login-page-and-more", NULL},
    {"printf %s 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 > s", "printf %s " R " > s"},
    {"grep -r GOCSPX- src/", NULL},
    {"echo dapi1bd7092061950730400d046d64760992", "echo " R}, /* 32 hex, entropy 3.18 */
    {"echo dapi00000000000000000000000000000000", NULL},
    /* a Twilio account SID names the account, it is no secret */
    {"twilio api:core:messages:list --account-sid AC0f1e2d3c4b5a69788796a5b4c3d2e1f0", NULL},
    /* a key written as hex after a weak name: 32 digits, entropy 3.18 */
    {"export SESSION_KEY=1bd7092061950730400d046d64760992", "export SESSION_KEY=" R},
    {"export BUILD_SHA=1bd7092061950730400d046d64760992aa01bc9f", NULL},
    /* names that end like a secret's but hold an identifier; the secret
     * names they end in still hide */
    {"export CACHE_KEY=deps-4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e", NULL},
    {"export SIGNING_KEY=4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e", "export SIGNING_KEY=" R},
    {"git config --global user.signingkey 3AA5C34371567BD2", NULL},
    {"curl -H 'Idempotency-Key: 5f0c6a8e-1b2d-4c3e-9f8a-7b6c5d4e3f2a' https://x", NULL},
    {"echo 'TWILIO_ACCOUNT_SID=AC0f1e2d3c4b5a69788796a5b4c3d2e1f0' >> .env", NULL},
    {"echo 'TWILIO_AUTH_TOKEN=0f1e2d3c4b5a69788796a5b4c3d2e1f0' >> .env", "echo 'TWILIO_AUTH_TOKEN=" R "' >> .env"},
    /* NAME:verb with no blank is a subcommand; with a value that is not a
     * bare lowercase word, or a blank, it is NAME: VALUE */
    {"firebase auth:export users.json --project demo", NULL},
    {"heroku auth:token", NULL},
    {"echo password:hunter2 > p", "echo password:" R " > p"},
    {"curl -H X-Auth-Token:abc123 https://x", "curl -H X-Auth-Token:" R " https://x"},
    /* a weak name as a JSON key, with a random-looking value only; a
     * comparison is no assignment */
    {"echo '{\"username\":\"dev\",\"key\":\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\"}' > k.json",
     "echo '{\"username\":\"dev\",\"key\":\"" R "\"}' > k.json"},
    {"echo '{\"key\":\"escape\",\"sig\":\"none\"}' > k.json", NULL},
    {"jq '.[] | select(.key==\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\")' keys.json", NULL},
    /* operands of logins and setters in the registry */
    {"wandb login 0f1e2d3c4b5a69788796a5b4c3d2e1f0aabbccdd", "wandb login " R},
    {"wandb sync ./wandb/run-1", NULL},
    {"grafana-cli admin reset-admin-password 'N3w-p4ss'", "grafana-cli admin reset-admin-password '" R "'"},
    {"grafana-cli plugins install grafana-clock-panel", NULL},
    {"mc alias set local http://127.0.0.1:9000 minio N3w-p4ss-123", "mc alias set local http://127.0.0.1:9000 minio " R},
    {"mc alias set local http://127.0.0.1:9000", NULL},
    /* a bare secret word after a setter's "set" names the setting */
    {"doppler configure set token plain-value-123 --scope /srv", "doppler configure set token " R " --scope /srv"},
    {"doppler configure set token", NULL},
    /* a random-looking value put in place of a placeholder by sed */
    {"sed -i \"s/REPLACE_ME/0f1e2d3c4b5a69788796a5b4c3d2e1f0aabbccdd/\" c.json",
     "sed -i \"s/REPLACE_ME/" R "/\" c.json"},
    {"sed -i 's/__API_KEY__/Zq8pW3xLmN4vB7cX1sD9fG2h/g' .env", "sed -i 's/__API_KEY__/" R "/g' .env"},
    {"sed -i 's/BUILD_SHA/0f1e2d3c4b5a69788796a5b4c3d2e1f0aabbccdd/' version.txt", NULL},
    {"sed -i 's/REPLACE_ME/v1.2.3/' c.json", NULL},
    {"sed -i 's/API_KEY/API_TOKEN/g' app.py", NULL},
    /* <( ) inside a word, as bash reads it: what echo or printf writes
     * there for a command about a secret, and a substitution as a secret
     * name's value, hidden whole */
    {"gcloud secrets create db-pw --data-file=<(printf %s 'Zq8pW3xLm')",
     "gcloud secrets create db-pw --data-file=<(printf %s " R ")"},
    {"gcloud secrets create db-pw --data-file=<(printf '%s' \"$DB_PW\")", NULL},
    {"kubectl create secret generic db --from-file=password=<(echo Zq8pW3xLm)",
     "kubectl create secret generic db --from-file=password=" R},
    {"diff <(echo abc) --label=<(echo def)", NULL},
    /* vendor prefixes added from heldout3: SonarQube, Resend, crates.io,
     * Airtable (pat + 14 + . + 64 hex), Azure DevOps (84 characters with
     * JQQJ99AZDO); each with a near miss */
    {"gradle sonar -Dsonar.token=squ_7c1e0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c", "gradle sonar -Dsonar.token=" R},
    {"grep -rn sqa_ docs/", NULL},
    {"node -e \"new Mailer('re_Q7w3Er9T_y5Ui2Op8As4Df6Gh1Jk0Lz').send(m)\"", "node -e \"new Mailer('" R "').send(m)\""},
    {"python3 -c 'import re_compile_helpers_for_the_parser_module'", NULL},
    {"echo re_AbCdEfGh_IjKlMnOpQrStUvWxYzAbCdEf > k", "echo " R " > k"}, /* no digit: still the shape */
    {"echo cioA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q > t", "echo " R " > t"},
    {"python3 -c \"Api('patQ7w3Er9Ty5Ui2O.0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0')\"",
     "python3 -c \"Api('" R "')\""},
    {"cat pattern.matching.txt", NULL},
    {"echo Q7w3Er9Ty5Ui2Op8As4Df6Gh1Jk0LzXc5Vb7Nm2Qw4Er6Ty8Ui0OJQQJ99AZDOa1B2c3D4e5F6g7H8i9J0k1 | x",
     "echo " R " | x"},
    /* pat as a whole name part (a personal access token), not path */
    {"export ADO_PAT=q7w3er9ty5ui2op8as4df6gh1jk0lzxc5vb7nm2qw4er6ty8ui0o", "export ADO_PAT=" R},
    {"export CLASSPATH=lib/a.jar:lib/b.jar", NULL},
    /* registry: password options and login operands of more tools; az
     * reads a token on stdin when it logs in */
    {"cqlsh db.example -u app --password Zq8pW3xLm", "cqlsh db.example -u app --password " R},
    {"mosquitto_sub -h broker -u dev -P Zq8pW3xLm -t a/#", "mosquitto_sub -h broker -u dev -P " R " -t a/#"},
    {"mosquitto_sub -h broker -t a/# -q 1", NULL},
    {"dotnet nuget update source feed -u ci -p Zq8pW3xLm", "dotnet nuget update source feed -u ci -p " R},
    {"dotnet run -p src/App", NULL},
    {"cargo login Zq8pW3xLmN4vB7cX1sD9fG2h", "cargo login " R},
    {"cargo build --release", NULL},
    {"ngrok authtoken Zq8pW3xLmN4vB7cX1sD9fG2h", "ngrok authtoken " R},
    {"ngrok http 8080", NULL},
    {"kubeadm token delete abcdef.0123456789abcdef", "kubeadm token delete " R},
    {"kubeadm token list", NULL},
    {"printf %s Zq8pW3xLm | az devops login --org https://dev.azure.com/x",
     "printf %s " R " | az devops login --org https://dev.azure.com/x"},
    {"echo hello | az storage blob upload -f - -c x -n y", NULL},
    /* a file holding a secret: Rails' master.key */
    {"echo 0f1e2d3c4b5a69788796a5b4c3d2e1f0 > config/credentials/production.key",
     "echo " R " > config/credentials/production.key"},
    {"printf '%s' 0f1e2d3c4b5a69788796a5b4c3d2e1f0 > config/master.key", "printf '%s' " R " > config/master.key"},
    {"echo 0f1e2d3c4b5a69788796a5b4c3d2e1f0 > build/sha.txt", NULL},
    /* a random value after a secret's option may start with a dash */
    {"authcli login --client-secret -Q7w3Er9Ty5Ui2OpAs4Df6Gh1Jk0LzXc5V", "authcli login --client-secret " R},
    {"tool --password --verbose", NULL},
    /* <( ) given to a name that holds a secret or the file of one */
    {"wg set wg1 peer P preshared-key <(echo Zq8pW3xLm)", "wg set wg1 peer P preshared-key <(echo " R ")"},
    {"vault-tool --password-file=<(printf %s Zq8pW3xLm) run", "vault-tool --password-file=<(printf %s " R ") run"},
    {"diff <(echo a) <(echo b)", NULL},
    /* a data source name, a user, a password: DBI and PDO */
    {"perl -MDBI -e 'DBI->connect(\"dbi:mysql:shop\", \"app\", \"Zq8pW3xLm\")'",
     "perl -MDBI -e 'DBI->connect(\"dbi:mysql:shop\", \"app\", \"" R "\")'"},
    {"php -r \"new PDO('pgsql:host=db;dbname=x', 'app', 'Zq8pW3xLm');\"",
     "php -r \"new PDO('pgsql:host=db;dbname=x', 'app', '" R "');\""},
    {"perl -e 'print join(\",\", \"a\", \"b\", \"c\")'", NULL},
    /* the command a container runs: its options carry secrets as here */
    {"podman exec -it -u root db mysql -uroot -pZq8pW3xLm shop", "podman exec -it -u root db mysql -uroot -p" R " shop"},
    {"kubectl exec -n data pg-0 -- redis-cli -a Zq8pW3xLm ping", "kubectl exec -n data pg-0 -- redis-cli -a " R " ping"},
    {"docker exec -it web ls -a /srv", NULL},
    /* heldout4: a value that only refers to a secret kept elsewhere, or
     * holds a placeholder, is left as written; a literal beside it is not */
    {"mysql -h db -u app --password=\"${MYSQL_PW:?unset}\" shop", NULL},
    {"deploy --token \"${DEPLOY_TOKEN:-}\" --env prod", NULL},
    {"echo 'PASSWORD=${PG_PW:-Zq8pW3xLmN4vB7cX1sD9}' >> .env", "echo 'PASSWORD=" R "' >> .env"},
    {"echo 'api_token: {{ .Values.api.token }}' >> values.yaml", NULL},
    {"echo 'secret: ${{ secrets.DEPLOY_SECRET }}' >> ci.yml", NULL},
    {"pwsh -c 'Invoke-WebRequest -Headers @{Authorization = \"Bearer $env:SVC_TOKEN\"} https://x'", NULL},
    {"echo 'password=%(PG_PW)s' >> db.ini", NULL},
    {"echo 'Password=%APP_PW%;' >> web.config", NULL},
    {"echo 'db_token = var.app_token' >> main.tf", NULL},
    {"echo 'API_TOKEN=op://Ops/ci/token' >> .env.tpl", NULL},
    {"echo 'password: ENC[AES256_GCM,data:QmFzZTY0,iv:aXY=,type:str]' >> s.enc.yaml", NULL},
    {"tool --client-secret \"$(cat /run/secrets/client)\"", NULL},
    {"tool --client-secret \"$(echo Zq8pW3xLmN4vB7cX)\"", "tool --client-secret \"$(echo " R ")\""},
    {"tool --token-file ./conf/ci-token.txt --api-key=$HOME/.config/tool/key.json", NULL},
    {"git clone https://ci:${CI_JOB_TOKEN}@git.example.com/a/b.git", NULL},
    {"git clone https://ci:Zq8pW3xLm@git.example.com/a/b.git", "git clone https://ci:" R "@git.example.com/a/b.git"},
    {"kubeadm join 10.0.0.1:6443 --discovery-token-ca-cert-hash "
     "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
     NULL},
    {"export SERVICE_TOKEN='<insert-your-token>' SIGNING_KEY=your_signing_key_here", NULL},
    {"echo 'ADMIN_PASSWORD=change_me' 'JWT_SECRET=REPLACEME' 'API_KEY=********' >> .env.sample", NULL},
    {"echo 'GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx' 'HF_TOKEN=hf_...' >> .env.sample", NULL},
    {"echo 'ADMIN_PASSWORD=changeme7Q' >> .env", "echo 'ADMIN_PASSWORD=" R "' >> .env"},
    {"sed -i 's/TOKEN=.*/TOKEN=<token>/' README.md", NULL},
    /* a structured config file named for secrets holds named fields: only
     * the secret ones are hidden, not the whole file */
    {"cat > k8s/app-secrets.yaml <<'EOF'\nkind: Secret\nstringData:\n  password: Zq8pW3xLm\nEOF",
     "cat > k8s/app-secrets.yaml <<'EOF'\nkind: Secret\nstringData:\n  password: " R "\nEOF"},
    {"cat > k8s/app-secrets.yaml <<'EOF'\nkind: ExternalSecret\nspec:\n  secretStoreRef: vault\nEOF", NULL},
    {"echo Zq8pW3xLmN4vB7cX1sD9 > run/api-token.txt", "echo " R " > run/api-token.txt"},
    /* a lookup's attribute key names a field */
    {"aws dynamodb query --attribute-key AttributeKey=OrderId,Value=0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0", NULL},
    /* heldout4: cookies that are secrets (Erlang's, a release's), the
     * headers that carry vendors' keys, gossip keys; near misses stay */
    {"RELX_COOKIE=QWERTYZXCVBNMASDFGHJ bin/app start", "RELX_COOKIE=" R " bin/app start"},
    {"erl -sname a --cookie MNBVCXZLKJHGFDSAPOIU", "erl -sname a --cookie " R},
    {"echo MNBVCXZLKJHGFDSAPOIU > ~/.erlang.cookie", "echo " R " > ~/.erlang.cookie"},
    {"curl -c cookies.txt --cookie-jar jar.txt https://x", NULL},
    {"curl -H 'X-Honeycomb-Team: q7w3er9ty5ui2op8' https://x", "curl -H 'X-Honeycomb-Team: " R "' https://x"},
    {"curl -H 'Ocp-Apim-Subscription-Key: 0f1e2d3c4b5a69788796' https://x",
     "curl -H 'Ocp-Apim-Subscription-Key: " R "' https://x"},
    {"curl -H 'X-Team: platform' https://x", NULL},
    {"nomad agent -encrypt Zq8pW3xLmN4vB7cX1sD9fG2hJ5kQ7w3E=", "nomad agent -encrypt " R},
    {"echo 'encrypt = true' >> agent.hcl", NULL},
    /* more tools' secret options and operands */
    {"etcdctl --user admin:Zq8pW3xLm endpoint health", "etcdctl --user admin:" R " endpoint health"},
    {"rabbitmqadmin -u ops -p Zq8pW3xLm list vhosts", "rabbitmqadmin -u ops -p " R " list vhosts"},
    {"zcli login -s acme -t Zq8pW3xLmN4vB7cX1sD9", "zcli login -s acme -t " R},
    {"coscmd config -a AKIDEXAMPLE -s Zq8pW3xLmN4vB7cX1sD9 -b bkt", "coscmd config -a AKIDEXAMPLE -s " R " -b bkt"},
    {"xcrun notarytool history -p Zq8pW3xLm", "xcrun notarytool history -p " R},
    {"b2 authorize-account 0012ab Zq8pW3xLmN4vB7cX1sD9", "b2 authorize-account 0012ab " R},
    {"b2 ls bucket dir", NULL},
    {"llm keys set mistral --value Zq8pW3xLmN4vB7cX1sD9", "llm keys set mistral --value " R},
    {"tccli configure set secretKey Zq8pW3xLmN4vB7cX1sD9", "tccli configure set secretKey " R},
    {"hcloud context create dev <<< Zq8pW3xLmN4vB7cX1sD9", "hcloud context create dev <<< " R},
    {"netlify env:set SMTP_PASSWORD Zq8pW3xLm", "netlify env:set SMTP_PASSWORD " R},
    {"netlify env:set SITE_NAME orders", NULL},
    /* base64 of a PEM key after NAME=; DER of a private key or a PKCS#12
     * store (version 0 or 3), not of a certificate */
    {"export CLIENT_KEY_B64=LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUFiQ2RFZkdoMWpLMkxtTjNvUHFSNHNUdVY1d1h5WjZhQmNEZUZnSGlKa0xvQW9HQ0NxR1NNNDkKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo= && make", "export CLIENT_KEY_B64=" R " && make"},
    {"export STORE_P12=MIIJqQIBAzCCpU3KGCUwux1tEyze1iN7LtkeP3IfyxlxF0SU1kk8nVw0YL4xIB5p/tqg7ui5mX9cfCmZ/a/lkyU81lSvTfrXFCegrrP+6SMvivIhH57kkcWxC+y1Vjv8Hm+TQn7LyP4pVeXNjkbcjtS3wnZNKlpNdncG+F2GkAJK1r2jQBvpyMvMyTX2zR9hImrhUziuGjQATTO6DSRqwEyBsbryPjv57vX3nytJNK+H9VILablLDZguhbtVtnKocmN6zXRm/LYODo/xhGOw5LK6KXA0dPBkrGj3APWwKz3GZvRb3qosyu3NK1FXQQ5N7krys09DCgc0R95jbA6AbJV7poTWQx+16tdCTQnhXQJMWEjyPR+m9zYdf2GNFTLnDiDipmaN5/R+hGflRtU+yOKhJXvb && make", "export STORE_P12=" R " && make"},
    {"export CA_CERT_DER=MIIDxTCCAq2gdL3AQGIWK0Z+a80P6/nox/1izi34dwqI0PLCOoQxIMXBNx2teCz+akggE/pjS+njkrbaRVExoLb9ZZ5MtpEkcLB8BpevcIgR2ILAmNVZyjtVDWdSmTsGwq9X33ZH0eTQ1SkjkzARKza4TvlMIGEIR67FPZmzprsB/2sfEFhbrNziPSpmcv7yT8M+N+dA4S7xybjpcxplGeQ5N2wCC7rdL2Z1pcRkA5SXKKTOcpco1r2kmraXN2T4vcGfaZTLxLa52mT6KYlTI/+K1juMlYyJjdJ9uX1+6n93ZLz+NjnGK1faF0YLYYcsMOzrkC9AtyGjEypGuyZ2EqNxl7enITqy3lFQgsdM3CEzcSqWWqxlNxodWlenl3z1OCpGQ3Onb9BZVkXhH+WT1N+++rtf && make", NULL},
    /* an operand that is base64 with padding; an unknown scheme before the
     * credential of an Authorization header; XML settings */
    {"vault operator unseal Zq8pW3xLmN4vB7cX1sD9fG2hJ5kQ7w3E4rT6yU8iO0p=", "vault operator unseal " R},
    {"curl -H 'Authorization: SSWS Zq8pW3xLmN4vB7cX1sD9' https://x", "curl -H 'Authorization: " R "' https://x"},
    {"echo '<db><user>app</user><password>Zq8pW3xLm</password></db>' > c.xml",
     "echo '<db><user>app</user><password>" R "</password></db>' > c.xml"},
    {"echo '<add key=\"MapsApiKey\" value=\"Zq8pW3xLmN4vB7cX\" />' >> web.config",
     "echo '<add key=\"MapsApiKey\" value=\"" R "\" />' >> web.config"},
    {"echo '<add key=\"PageSize\" value=\"50\" /><timeout>30</timeout>' >> web.config", NULL},
    /* every literal of a Secret is secret, whatever its key */
    {"kubectl create secret generic api --from-literal=value=v2.q7w3er9ty5-ui2op8", "kubectl create secret generic api --from-literal=value=" R},
    {"kubectl create configmap api --from-literal=mode=fast", NULL},
    {"kubectl create secret generic api --from-literal=pw=\"$API_PW\"", NULL},
    /* api as a weak name: a random value after it */
    {"tool config set api=0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0", "tool config set api=" R},
    {"tool config set api=v2 endpoint=https://x.example/api", NULL},
    {"no secrets here, just a == b and x=1", NULL},
    {"", NULL},
};

static void check_stable(const char *once) {
  char *twice = al_redact_string(once);
  assert_non_null(twice);
  assert_string_equal(twice, once);
  free(twice);
}

static void test_argv_table(void **state) {
  (void)state;
  size_t n = sizeof(argv_cases) / sizeof(argv_cases[0]);
  assert_true(n >= 30);
  for (size_t i = 0; i < n; i++) {
    const argv_case *c = &argv_cases[i];
    json_t *out = al_redact_argv((char *const *)c->argv);
    assert_non_null(out);
    size_t argc = 0;
    while (c->argv[argc] != NULL)
      argc++;
    if (json_array_size(out) != argc)
      fail_msg("case %zu: %zu elements, wanted %zu", i, json_array_size(out), argc);
    for (size_t j = 0; j < argc; j++) {
      const char *want = c->want[0] ? c->want[j] : c->argv[j];
      const char *got = json_string_value(json_array_get(out, j));
      if (got == NULL || strcmp(got, want) != 0)
        fail_msg("case %zu (%s ...), element %zu: got '%s', wanted '%s'", i, c->argv[0], j, got ? got : "(null)", want);
      check_stable(got);
    }
    json_decref(out);
  }
}

static void test_string_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(string_cases) / sizeof(string_cases[0]); i++) {
    char *got = al_redact_string(string_cases[i].in);
    assert_non_null(got);
    const char *want = string_cases[i].want ? string_cases[i].want : string_cases[i].in;
    if (strcmp(got, want) != 0)
      fail_msg("string case %zu: got '%s', wanted '%s'", i, got, want);
    check_stable(got);
    free(got);
  }
}

static void test_patterns(void **state) {
  (void)state;
  airlock_error *err = NULL;
  assert_int_equal(al_redact_add_pattern("(?i)internal-([0-9]+)", &err), 0);
  assert_int_equal(al_redact_add_pattern("corp_[a-z]{8}", &err), 0);
  assert_null(err);
  char *got = al_redact_string("see INTERNAL-12345 and corp_abcdefgh, not corp_abc");
  assert_string_equal(got, "see INTERNAL-" R " and " R ", not corp_abc");
  free(got);
  assert_int_equal(al_redact_add_pattern("([a-", &err), -1);
  assert_non_null(strstr(err->msg, "([a-"));
  airlock_error_free(&err);
  assert_int_equal(al_redact_add_pattern("", &err), -1);
  airlock_error_free(&err);
  /* an empty match must not loop */
  assert_int_equal(al_redact_add_pattern("x*", &err), 0);
  got = al_redact_string("abxxc");
  assert_string_equal(got, "ab" R "c");
  free(got);
  al_redact_clear_patterns();
  got = al_redact_string("INTERNAL-12345");
  assert_string_equal(got, "INTERNAL-12345");
  free(got);
}

static void test_utf8_and_edges(void **state) {
  (void)state;
  char *argv[] = {"echo", "caf\xc3\xa9", "bad\xff\xfe", "\xe2\x82", "token=\xc3\xa9t\xc3\xa9", NULL};
  json_t *out = al_redact_argv(argv);
  assert_non_null(out);
  assert_string_equal(json_string_value(json_array_get(out, 1)), "caf\xc3\xa9");
  assert_string_equal(json_string_value(json_array_get(out, 2)), "bad\xef\xbf\xbd\xef\xbf\xbd");
  assert_string_equal(json_string_value(json_array_get(out, 3)), "\xef\xbf\xbd\xef\xbf\xbd");
  assert_string_equal(json_string_value(json_array_get(out, 4)), "token=" R);
  json_decref(out);
  out = al_redact_argv(NULL);
  assert_int_equal(json_array_size(out), 0);
  json_decref(out);
  char *empty[] = {NULL};
  out = al_redact_argv(empty);
  assert_int_equal(json_array_size(out), 0);
  json_decref(out);
  char *got = al_redact_string(NULL);
  assert_string_equal(got, "");
  free(got);
  /* a long argument costs linear time, whatever it holds (the ASan build
   * intercepts each search: one that measured the rest of the text every
   * time took a minute here) */
  size_t len = 1 << 20;
  char *big = malloc(len + 1);
  for (size_t i = 0; i < len; i++)
    big[i] = "a=:@/sk-eyJ."[i % 12];
  big[len] = '\0';
  got = al_redact_string(big);
  assert_non_null(got);
  free(got);
  /* and an operator pattern that matches every 12 bytes (on 96 KiB of it:
   * ASan's regexec measures the whole string on every call) */
  airlock_error *err = NULL;
  assert_int_equal(al_redact_add_pattern("@/(sk)-", &err), 0);
  big[96 * 1024] = '\0';
  got = al_redact_string(big);
  assert_non_null(got);
  assert_non_null(strstr(got, "@/" R "-eyJ."));
  free(got);
  al_redact_clear_patterns();
  free(big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_argv_table),
      cmocka_unit_test(test_string_table),
      cmocka_unit_test(test_patterns),
      cmocka_unit_test(test_utf8_and_edges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
