#!/bin/bash
# Makes the test PKI the auth integration tests use (run once; the output is
# checked in): a CA, a server certificate for localhost and 127.0.0.1, and
# client certificates for the principals "alice" and "bob". EC P-256 keys,
# valid for 100 years. Test-only: these private keys are public.
#   bash tests/integration/testdata/make-certs.sh
set -euo pipefail
cd "$(dirname "$0")"
days=36500
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$days" \
  -subj "/CN=futured test CA" -out ca.pem

# $1: name, $2: subject CN, $3: extensions
sign() {
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -sha256 -days "$days" -extfile "$1.ext" -out "$1.pem"
  rm "$1.csr" "$1.ext"
}
sign server localhost \
  "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
sign alice alice "extendedKeyUsage=clientAuth"
sign bob bob "extendedKeyUsage=clientAuth"
rm -f ca.srl
chmod 644 ./*.pem ./*.key
