#!/bin/bash
# One-shot (docker-compose service `certs`, Elasticsearch image): a CA and certificates
# made with elasticsearch-certutil into the `certs` volume. Kept when already there.
set -euo pipefail
cd /usr/share/elasticsearch
out=config/certs
if [ ! -f "$out/ca/ca.crt" ]; then
  bin/elasticsearch-certutil ca --silent --pem --out "$out/ca.zip"
  unzip -q -o "$out/ca.zip" -d "$out"
fi
if [ ! -f "$out/elasticsearch/elasticsearch.crt" ]; then
  cat > "$out/instances.yml" <<'YAML'
instances:
  - name: elasticsearch
    dns: [elasticsearch, localhost]
    ip: [127.0.0.1]
YAML
  bin/elasticsearch-certutil cert --silent --pem --in "$out/instances.yml" \
    --ca-cert "$out/ca/ca.crt" --ca-key "$out/ca/ca.key" --out "$out/certs.zip"
  unzip -q -o "$out/certs.zip" -d "$out"
fi
if [ ! -f "$out/kafka/kafka.p12" ]; then
  # Kafka reads a PKCS#12 keystore; its password comes from .env.
  mkdir -p "$out/kafka"
  bin/elasticsearch-certutil cert --silent --name kafka --dns kafka --dns localhost \
    --ip 127.0.0.1 --ca-cert "$out/ca/ca.crt" --ca-key "$out/ca/ca.key" \
    --pass "$KAFKA_KEYSTORE_PASSWORD" --out "$out/kafka/kafka.p12"
fi
# Readable by the services' users (elasticsearch, kafka and kibana run as uid 1000);
# the CA key stays with root.
chown -R 1000:0 "$out"
find "$out" -type d -exec chmod 750 {} +
find "$out" -type f -exec chmod 640 {} +
chown root:root "$out/ca/ca.key"
chmod 600 "$out/ca/ca.key"
chmod 644 "$out/ca/ca.crt"
chmod 755 "$out" "$out/ca"
echo "certificates ready in $out"
