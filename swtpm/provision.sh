#!/usr/bin/env bash
# Provisions a TPM 2.0 state directory for swtpm, with everything inside BASE (nothing system-wide):
#   BASE/localca/   the local "manufacturer" CA (root + issuer) that signs the EK certificates
#   BASE/state/     the TPM state: RSA-2048 EK (0x81010001, cert in NV 0x01C00002) and ECC P-384 EK
#                   (0x81010016, cert in NV 0x01C00016), platform cert, sha1 + sha256 PCR banks
#   BASE/ekcerts/   DER copies of the EK certificates
#   BASE/ek-ca.pem  the CA bundle a sigil server trusts for these EKs (issuer + root)
# Usage: swtpm/provision.sh BASE [--localca DIR]
#   --localca DIR  use (or create) the manufacturer CA in DIR instead of BASE/localca, so several
#                  TPMs can share one manufacturer (tests give a second TPM another CA on purpose).
# Re-running it re-provisions BASE/state (stop swtpm first: never provision a state it is using).
set -euo pipefail

usage() { echo "usage: $0 BASE [--localca DIR]" >&2; exit 2; }
[ $# -ge 1 ] || usage
BASE=$(realpath -m "$1"); shift
LOCALCA="$BASE/localca"
while [ $# -gt 0 ]; do
  case "$1" in
    --localca) [ $# -ge 2 ] || usage; LOCALCA=$(realpath -m "$2"); shift 2 ;;
    *) usage ;;
  esac
done
for tool in swtpm swtpm_setup swtpm_localca; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is not installed (apt-get install swtpm swtpm-tools; or npm run bootstrap)" >&2; exit 1; }
done
# /proc/PID/comm, not kill -0: a pid file that outlived its swtpm (a reboot) may name another process.
if [ -f "$BASE/swtpm.pid" ] && [ "$(cat "/proc/$(cat "$BASE/swtpm.pid")/comm" 2>/dev/null)" = swtpm ]; then
  echo "$0: swtpm (pid $(cat "$BASE/swtpm.pid")) is running on $BASE/state; stop it first (swtpm/stop.sh $BASE)" >&2
  exit 1
fi

mkdir -p "$BASE/conf" "$BASE/state" "$BASE/ekcerts" "$BASE/logs" "$LOCALCA"
cat > "$BASE/conf/swtpm-localca.conf" <<CONF
statedir = $LOCALCA
signingkey = $LOCALCA/signkey.pem
issuercert = $LOCALCA/issuercert.pem
certserial = $LOCALCA/certserial
CONF
cat > "$BASE/conf/swtpm-localca.options" <<CONF
--platform-manufacturer sigil
--platform-version 2.1
--platform-model swtpm-sigil
CONF
cat > "$BASE/conf/swtpm_setup.conf" <<CONF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $BASE/conf/swtpm-localca.conf
create_certs_tool_options = $BASE/conf/swtpm-localca.options
active_pcr_banks = sha256
CONF

# Two provisionings sharing one CA must not race on its serial counter.
exec 9>"$LOCALCA/.lock"
flock 9
swtpm_setup --tpm2 --tpmstate "$BASE/state" --config "$BASE/conf/swtpm_setup.conf" \
  --createek --create-ek-cert --create-platform-cert --pcr-banks sha1,sha256 \
  --write-ek-cert-files "$BASE/ekcerts" --overwrite \
  --logfile "$BASE/logs/swtpm_setup.log" >/dev/null \
  || { echo "$0: swtpm_setup failed; see $BASE/logs/swtpm_setup.log" >&2; tail -n 20 "$BASE/logs/swtpm_setup.log" >&2; exit 1; }
flock -u 9

cat "$LOCALCA/issuercert.pem" "$LOCALCA/swtpm-localca-rootca-cert.pem" > "$BASE/ek-ca.pem"
echo "provisioned $BASE/state (EK certs in $BASE/ekcerts, manufacturer CA bundle $BASE/ek-ca.pem)"
