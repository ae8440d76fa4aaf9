#!/bin/bash
# Runs inside the booted container (guanhuai-systemtest.service). One line per check in /results; "done" at the end.
set -u
out=/results
: >"$out"
fails=0
ok() { echo "ok   - $*" >>"$out"; }
fail() { echo "FAIL - $*" >>"$out"; fails=$((fails + 1)); }
check() {  # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@" >/tmp/check.out 2>&1; then ok "$what"; else fail "$what: $(tail -c 600 /tmp/check.out | tr '\n' ' ')"; fi
}
wait_for() {  # wait_for SECONDS COMMAND...
    local n=$(($1 * 4)); shift
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
    "$@"
}
finish() {
    echo "done ($fails failed)" >>"$out"
    [ "$fails" -gt 0 ] && journalctl -u guanhuaid -u guanhuai-test-smtp --no-pager -n 60 >/results-journal 2>&1
    sync
    systemctl --no-block poweroff
    exit 0
}
trap finish EXIT
beijing() { date -u -d "$1 8 hours ago" +%s; }   # a Beijing wall time as an epoch, without tzdata
setclock() { install -d -m 0755 /etc/guanhuai-test; echo "$(beijing "$1")" >/etc/guanhuai-test/clock; chmod 0644 /etc/guanhuai-test/clock; }
prop() { local v; v=$(systemctl show -P "$1" guanhuaid); echo "${v:-0}"; }
mails() { ls /var/lib/test-mail/*.eml 2>/dev/null | wc -l; }
since=$(date '+%Y-%m-%d %H:%M:%S')

export DEBIAN_FRONTEND=noninteractive
read -r version next </root/debs/versions

# 0. Installed as README says: apt install the .deb, put the committee in /etc/guanhuai, check, start.
t0=$(date +%s%N)
check "apt installs the package (no Swift toolchain here)" apt-get install -y -q "/root/debs/guanhuai_${version}_amd64.deb"
echo "info - apt install took $((($(date +%s%N) - t0) / 1000000)) ms; the package is $(stat -c %s "/root/debs/guanhuai_${version}_amd64.deb") bytes, installed $(dpkg-query -W -f '${Installed-Size}' guanhuai) KiB" >>"$out"
check "the system user guanhuai exists (systemd-sysusers), home /var/lib/guanhuai, no login shell" bash -c \
    'getent passwd guanhuai | grep -q ":/var/lib/guanhuai:/usr/sbin/nologin$" && getent group guanhuai'
check "guanhuaid.service is enabled, and waits for the committee's files without failing" bash -c \
    '[ "$(systemctl is-enabled guanhuaid)" = enabled ] && [ "$(systemctl show -P ActiveState guanhuaid)" = inactive ] && [ "$(systemctl show -P ConditionResult guanhuaid)" = no ]'
check "the backup timer ships disabled" bash -c '[ "$(systemctl is-enabled guanhuai-backup.timer)" = disabled ]'
check "the state directory is the group's (2770 guanhuai:guanhuai), the backups' 0750" bash -c \
    '[ "$(stat -c %a:%U:%G /var/lib/guanhuai)" = 2770:guanhuai:guanhuai ] && [ "$(stat -c %a:%U:%G /var/backups/guanhuai)" = 750:guanhuai:guanhuai ]'
check "manual pages and completions are installed" test -s /usr/share/man/man1/guanhuai.1.gz -a -s /usr/share/man/man8/guanhuaid.8.gz \
    -a -s /usr/share/bash-completion/completions/guanhuai -a -s /usr/share/zsh/vendor-completions/_guanhuai
check "the installed units verify (systemd-analyze verify)" bash -c \
    'systemd-analyze verify /lib/systemd/system/guanhuaid.service /lib/systemd/system/guanhuai-backup.service /lib/systemd/system/guanhuai-backup.timer 2>&1 | grep -v "man\|Command" | { ! grep .; }'
# The example committee as the operator's own (its config.toml replaces the skeleton: the conffile, edited), and
# the channels the test adds. The credentials are where the drop-in's LoadCredential= takes them from.
cp -r /usr/share/doc/guanhuai/examples/. /etc/guanhuai/
cat /root/test-channels.toml >>/etc/guanhuai/config.toml
check "guanhuai check as root finds the credentials in /etc/credstore and reports nothing that would fail" bash -c \
    'guanhuai check >/tmp/check.txt 2>&1 || { grep "^error" /tmp/check.txt; exit 1; }' 
check "guanhuai import as root writes the database the service will use, owned by guanhuai" bash -c \
    'guanhuai import orgs && guanhuai import roster && guanhuai import relations && [ "$(stat -c %U:%G:%a /var/lib/guanhuai/guanhuai.sqlite)" = guanhuai:guanhuai:660 ]'

systemctl start guanhuai-test-smtp guanhuai-test-webhooks
wait_for 20 bash -c 'exec 3<>/dev/tcp/127.0.0.1/2525' || fail "the test SMTP server did not start"
wait_for 20 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' || fail "the test webhook receiver did not start"

# 1. Start: READY reached, active (running), STATUS= shown by systemctl status.
setclock "2027-06-01 08:29:55"
check "systemctl start guanhuaid returns once READY=1 is sent" systemctl start guanhuaid
check "guanhuaid is active (running)" bash -c '[ "$(systemctl show -P ActiveState guanhuaid)/$(systemctl show -P SubState guanhuaid)" = active/running ]'
check "systemctl status shows the STATUS= text" bash -c 'systemctl status guanhuaid --no-pager | grep -E "Status: \"(next reminder|no reminder)"'

# 2. A send time passes: e-mail through the SMTP server (AUTH with the credential), journal entries with fields.
check "e-mail reminders reach the SMTP server in the container" wait_for 30 bash -c '[ "$(ls /var/lib/test-mail/*.eml 2>/dev/null | wc -l)" -gt 0 ]'
first=$(ls /var/lib/test-mail/*.eml 2>/dev/null | head -1)
cat >/tmp/read_mail.py <<'PY'
import sys, email
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
assert m["Subject"].startswith("「关怀提醒"), m["Subject"]
assert m["From"].addresses[0].addr_spec == "guanhuai@example.edu.cn", m["From"]
assert m["Auto-Submitted"] == "auto-generated"
body = m.get_body(("plain",)).get_content()
# With [web] the items carry links built from its public_url (read from the installed configuration, not written here).
import tomllib
web = tomllib.load(open("/etc/guanhuai/config.toml", "rb")).get("web")
assert "期限" in body and (f"已办结：{web['public_url']}/i/" in body if web else "guanhuai done" in body), body[:300]
PY
check "an e-mail reads correctly (subject, sender, UTF-8 body)" python3 /tmp/read_mail.py "$first"
check "journalctl shows reminder entries with GUANHUAI_* fields" bash -c \
    'journalctl -u guanhuaid MESSAGE_ID=6f1d2a8c4b7e4f0a9c3d5e7f8a1b2c3d -o json --no-pager | python3 -c "
import sys, json
entries = [json.loads(l) for l in sys.stdin if l.strip()]
assert entries, \"no journal-channel entries\"
for e in entries:
    for f in (\"GUANHUAI_RULE\", \"GUANHUAI_OCCURRENCE\", \"GUANHUAI_RECIPIENT\", \"GUANHUAI_DUE\", \"MESSAGE_ID\"):
        assert e.get(f), (f, e)
    assert e[\"_SYSTEMD_UNIT\"] == \"guanhuaid.service\"
rule = entries[0][\"GUANHUAI_RULE\"]
import subprocess
out = subprocess.run([\"journalctl\", \"-u\", \"guanhuaid\", \"GUANHUAI_RULE=\" + rule, \"-o\", \"cat\", \"--no-pager\"], capture_output=True, text=True).stdout
assert out.strip(), rule
"'

cat >/tmp/hooks.py <<'PY'
import json, sys
reqs = [json.loads(l) for l in open("/var/lib/test-hooks/requests.jsonl")]
hooks = [r for r in reqs if r["path"] == "/hook"]
robot = [r for r in reqs if r["path"] == "/cgi-bin/webhook/send"]
if sys.argv[1] == "webhook":
    assert hooks and all(r["verified"] for r in hooks), [(r["status"], r.get("verified")) for r in hooks][:5]
    assert all(r["headers"]["webhook-id"].startswith("digest:") for r in hooks)
    assert all(json.loads(r["body"])["type"] == "reminder.digest" for r in hooks)
else:
    assert robot and all(r["status"] == 200 and r.get("verified") for r in robot), len(robot)
    texts = [json.loads(r["body"])["text"] for r in robot]
    assert all(t["content"].startswith("【关怀提醒】") or t["content"].startswith("(") for t in texts)
    assert any(t["mentioned_mobile_list"] for t in texts)
    assert len(robot) <= 20, f"{len(robot)} robot messages in the first minute: over its limit"
PY
check "a signed webhook digest reaches the HTTP receiver in the container and its signature verifies" wait_for 30 python3 /tmp/hooks.py webhook
check "the committee's 企业微信 robot gets reminders that mention by mobile, within 20 a minute" wait_for 30 python3 /tmp/hooks.py robot

# 2b. The web pages, under the hardened unit: a mailed 「已办结」 link opens its page (GET changes nothing), the POST
# records it, and the token never reaches the journal.
cat >/tmp/web.py <<'PY'
import glob, re, sys, tomllib, urllib.parse, urllib.request, urllib.error
from email import policy
from email.parser import BytesParser
# The links' address is the installed configuration's [web] public_url.
base = tomllib.load(open("/etc/guanhuai/config.toml", "rb"))["web"]["public_url"]
link = None
for f in sorted(glob.glob("/var/lib/test-mail/*.eml")):
    body = BytesParser(policy=policy.default).parsebytes(open(f, "rb").read()).get_body(("plain",)).get_content()
    m = re.search("已办结：(" + re.escape(base) + r"/i/\S+/done)", body)
    if m:
        link = m.group(1)
        break
assert link, "no mail carries an action link"
open("/tmp/web-token", "w").write(link.split("/i/")[1].split("/")[0])
page = urllib.request.urlopen(link, timeout=10)
html = page.read().decode()
assert page.status == 200 and "确认已办结" in html, html[:300]
assert page.headers["Cache-Control"] == "no-store" and "default-src 'none'" in page.headers["Content-Security-Policy"]
if sys.argv[1] == "post":
    data = urllib.parse.urlencode({"date": "2027-06-01", "note": "已上门看望"}).encode()
    r = urllib.request.urlopen(urllib.request.Request(link, data=data, method="POST"), timeout=10)
    assert r.status == 200 and "已登记" in r.read().decode()
    try:
        urllib.request.urlopen(urllib.request.Request(link, data=data, method="POST"), timeout=10)
        raise SystemExit("a replay was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 409 and "已由" in e.read().decode()
PY
check "a mailed 「已办结」 link opens its confirmation page from guanhuaid under the hardened unit" wait_for 20 python3 /tmp/web.py get
check "the POST from that page records it once; a replay says who recorded it" python3 /tmp/web.py post
check "the journal has the web action, never the link's token" bash -c \
    'journalctl -u guanhuaid --no-pager -o cat | grep -q "web POST /i/{token}/{action} 200" && ! journalctl --no-pager -o verbose | grep -qF -- "$(cat /tmp/web-token)"'

# 3. Reload with a changed rule: the new title appears in the next reminders.
sed -i 's/^title = "七一走访慰问"$/title = "七一走访慰问（系统测试已改）"/' /etc/guanhuai/rules.toml
before=$(mails)
setclock "2027-06-17 08:29:58"
check "systemctl reload completes" systemctl reload guanhuaid
cat >/tmp/new_title.py <<'PY'
import sys, glob, email
from email import policy
files = sorted(glob.glob("/var/lib/test-mail/*.eml"))[int(sys.argv[1]):]
texts = [email.message_from_binary_file(open(f, "rb"), policy=policy.default).get_body(("plain",)).get_content() for f in files]
assert any("七一走访慰问（系统测试已改）" in t for t in texts), f"{len(files)} new messages, none with the new title"
PY
check "the changed rule takes effect: the next reminders carry the new title" wait_for 30 python3 /tmp/new_title.py "$before"
check "the reload is logged" bash -c 'journalctl -u guanhuaid --no-pager -o cat | grep -q "configuration reloaded"'

# 4. A broken configuration: the reload completes, the service keeps running on the old one, the journal says why.
cp /etc/guanhuai/config.toml /tmp/config.good
echo 'send_time = "25:99"  # broken on purpose' >>/etc/guanhuai/config.toml
pid=$(prop MainPID)
systemctl reload guanhuaid
check "after a broken reload guanhuaid is still active with the same process" bash -c "[ \"\$(systemctl show -P ActiveState guanhuaid)\" = active ] && [ \"\$(systemctl show -P MainPID guanhuaid)\" = $pid ]"
check "journalctl -u guanhuaid says why the configuration was rejected" wait_for 10 bash -c \
    'journalctl -u guanhuaid --no-pager -o cat | grep "the new configuration is invalid; still running the previous one" | grep -q "config.toml"'
cp /tmp/config.good /etc/guanhuai/config.toml

# 5. Stop cleanly.
check "systemctl stop ends it cleanly (exit 0, result success)" bash -c \
    'systemctl stop guanhuaid && [ "$(systemctl show -P ActiveState guanhuaid)" = inactive ] && [ "$(systemctl show -P Result guanhuaid)" = success ] && [ "$(systemctl show -P ExecMainStatus guanhuaid)" = 0 ]'

# 6. SIGKILL: systemd restarts it.
systemctl start guanhuaid
pid=$(prop MainPID)
restarts=$(prop NRestarts)
systemctl kill -s SIGKILL guanhuaid
check "after systemctl kill -s SIGKILL it is restarted" wait_for 30 bash -c \
    "[ \"\$(systemctl show -P NRestarts guanhuaid)\" -gt $restarts ] && [ \"\$(systemctl show -P SubState guanhuaid)\" = running ] && [ \"\$(systemctl show -P MainPID guanhuaid)\" != $pid ]"

# 7. A daemon that stops answering stops pinging the watchdog: systemd kills and restarts it. (SIGSTOP freezes the
# whole process; that the pings come from the scheduler's own loop is NotifyTests.aStalledSchedulerStopsPinging….)
mkdir -p /run/systemd/system/guanhuaid.service.d
printf '[Service]\nWatchdogSec=3s\nTimeoutAbortSec=3s\n' >/run/systemd/system/guanhuaid.service.d/stall.conf
systemctl daemon-reload
systemctl restart guanhuaid
restarts=$(prop NRestarts)
systemctl kill -s SIGSTOP guanhuaid
check "a frozen daemon is killed by the watchdog" wait_for 40 bash -c \
    'journalctl -u guanhuaid --no-pager -o cat | grep -q "Watchdog timeout"'
check "and restarted" wait_for 40 bash -c "[ \"\$(systemctl show -P NRestarts guanhuaid)\" -gt $restarts ] && [ \"\$(systemctl show -P SubState guanhuaid)\" = running ]"
rm -rf /run/systemd/system/guanhuaid.service.d

# 7b. The test clock is refused under systemd without GUANHUAI_TEST=1, and the journal says why. (Drop-ins apply in
# the order of their names: zz- comes after the test's own test.conf, which sets GUANHUAI_TEST=1.)
mkdir -p /run/systemd/system/guanhuaid.service.d
printf '[Service]\nEnvironment=GUANHUAI_TEST=\nRestart=no\n' >/run/systemd/system/guanhuaid.service.d/zz-no-test.conf
systemctl daemon-reload
systemctl restart guanhuaid || true
check "the test clock without GUANHUAI_TEST=1 is refused" wait_for 20 bash -c \
    '[ "$(systemctl show -P ActiveState guanhuaid)" = failed ] && journalctl -u guanhuaid --no-pager -o cat | grep -q "GUANHUAI_TEST_CLOCK_FILE is set, and this is a systemd service"'
rm -rf /run/systemd/system/guanhuaid.service.d
systemctl reset-failed guanhuaid
systemctl daemon-reload
systemctl restart guanhuaid

# 8. The password reached the daemon (the SMTP server took it) and appears nowhere else.
password=$(cat /etc/credstore/guanhuaid.smtp-password)
check "the SMTP password is not in the journal" bash -c "! journalctl --no-pager -o verbose | grep -qF -- '$password'"
check "the SMTP password is not in systemctl show" bash -c "! systemctl show guanhuaid | grep -qF -- '$password'"
check "it came through LoadCredential= (the unit says so, the config names only the id)" bash -c \
    "systemctl cat guanhuaid | grep -q '^LoadCredential=smtp-password:' && grep -q 'password_credential = \"smtp-password\"' /etc/guanhuai/config.toml && ! grep -qF -- '$password' /etc/guanhuai/config.toml"
check "and it reached the daemon: the SMTP server, which requires it, accepted the mail" bash -c '[ "$(ls /var/lib/test-mail/*.eml 2>/dev/null | wc -l)" -gt 0 ]' 
systemctl stop guanhuaid

# 9. The operator's CLI on the running service's database: as root and as a member of the group guanhuai, without
# changing whose the files are.
systemctl start guanhuaid
useradd -m -G guanhuai clerk
cmds=$(guanhuai agenda --days 400 2>/dev/null | grep -o 'guanhuai done [^ ]*' | head -2)
first=$(echo "$cmds" | sed -n 1p)
second=$(echo "$cmds" | sed -n 2p)
check "guanhuai done as a member of the group guanhuai records it" bash -c "[ -n '$first' ] && runuser -u clerk -- $first"
check "guanhuai done as root records it" bash -c "[ -n '$second' ] && $second"
check "the database files are still guanhuai's, and the group's (0660)" bash -c \
    'for f in /var/lib/guanhuai/guanhuai.sqlite*; do [ "$(stat -c %G:%a "$f")" = guanhuai:660 ] || { stat -c "%n %U:%G %a" "$f"; exit 1; }; done'
check "guanhuai status as the group member reads the service's outbox" bash -c 'runuser -u clerk -- guanhuai status | grep -q "Outbox:"'
check "a second guanhuaid on the same database is refused and says why" bash -c \
    '! runuser -u guanhuai -- /usr/sbin/guanhuaid --config /etc/guanhuai/config.toml 2>/tmp/second.err; grep -q "another guanhuaid is running" /tmp/second.err || journalctl --no-pager -o cat -n 50 | grep -q "another guanhuaid is running"'
check "guanhuai restore refuses while guanhuaid runs" bash -c \
    'guanhuai backup /root/now.sqlite && ! guanhuai restore /root/now.sqlite 2>/tmp/restore.err && grep -q "guanhuaid is running" /tmp/restore.err'
check "the backup service writes a checked copy into /var/backups/guanhuai" bash -c \
    'systemctl start guanhuai-backup.service && ls /var/backups/guanhuai/guanhuai-*.sqlite && [ "$(stat -c %a /var/backups/guanhuai/guanhuai-*.sqlite | head -1)" = 600 ]'

# 10. A crash gives a readable backtrace in the journal (the runtime is linked in; the unit names its backtracer).
# (The runtime's handler reports and returns: a fault signal sent by kill does not end the process, a real fault does.)
crash_since=$(date '+%Y-%m-%d %H:%M:%S')
systemctl kill -s SIGSEGV guanhuaid
check "a fault signal gives a backtrace in the journal that names guanhuaid's own functions" wait_for 30 bash -c \
    "journalctl -u guanhuaid --since '$crash_since' --no-pager -o cat | grep -q 'Program crashed' && journalctl -u guanhuaid --since '$crash_since' --no-pager -o cat | grep -qE '\\[ra\\] +0x[0-9a-f]+ [^<].* in guanhuaid'"
systemctl restart guanhuaid

# 11. An upgrade while messages wait: the mail server down, a send time passed, rows queued; the second build
# installed with apt restarts the service; the server back, each waiting message arrives once.
systemctl stop guanhuai-test-smtp
before=$(mails)
setclock "2027-06-25 08:29:58"
check "with the mail server down, mail waits in the outbox, retrying" wait_for 60 bash -c \
    'guanhuai status | grep -qE " mail .*retrying"'
pid=$(prop MainPID)
t0=$(date +%s%N)
check "apt upgrades to the second build while it runs" apt-get install -y -q "/root/debs/guanhuai_${next}_amd64.deb"
echo "info - the upgrade (apt install, the service restarted) took $((($(date +%s%N) - t0) / 1000000)) ms" >>"$out"
check "the upgrade restarted guanhuaid on the new version" bash -c \
    "[ \"\$(dpkg-query -W -f '\${Version}' guanhuai)\" = '$next' ] && [ \"\$(systemctl show -P SubState guanhuaid)\" = running ] && [ \"\$(systemctl show -P MainPID guanhuaid)\" != $pid ]"
check "the operator's configuration (a conffile) was kept" grep -q '^\[channels.mail\]' /etc/guanhuai/config.toml
systemctl start guanhuai-test-smtp
check "after the upgrade every waiting message is delivered (the robot's at 20 a minute)" wait_for 240 bash -c \
    'guanhuai status | grep -qE "Outbox: 0 queued"'
cat >/tmp/once.py <<'PY'
import sys, glob, email, collections
from email import policy
files = sorted(glob.glob("/var/lib/test-mail/*.eml"))
ids = collections.Counter(email.message_from_binary_file(open(f, "rb"), policy=policy.default)["Message-ID"] for f in files)
twice = [i for i, n in ids.items() if n > 1]
assert not twice, f"sent twice: {twice}"
assert len(files) > int(sys.argv[1]), f"no new mail after the upgrade ({len(files)})"
PY
check "and none twice: every Message-ID arrived once" python3 /tmp/once.py "$before"
systemctl stop guanhuaid

# 12. Removed, then purged.
check "apt remove stops and removes the service, and keeps the database" bash -c \
    'apt-get remove -y -q guanhuai && ! [ -e /usr/sbin/guanhuaid ] && [ -e /var/lib/guanhuai/guanhuai.sqlite ] && ! systemctl is-active -q guanhuaid'
check "apt purge says it removes /var/lib/guanhuai, and does" bash -c \
    'apt-get purge -y -q guanhuai 2>&1 | grep -q "removing /var/lib/guanhuai" && ! [ -e /var/lib/guanhuai ] && ! [ -e /etc/guanhuai/config.toml ] && ! [ -e /etc/systemd/system/multi-user.target.wants/guanhuaid.service ]'
check "the backups stay after the purge" bash -c 'ls /var/backups/guanhuai/guanhuai-*.sqlite'
