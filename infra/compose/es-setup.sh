#!/bin/bash
# One-shot (docker-compose service `es-setup`): the newsbeam roles and users, and the
# token Kibana's service account (elastic/kibana) connects with. Idempotent.
# Roles: infra/compose/roles/*.json, made from infra/security.py (a unit test keeps them
# in step). Passwords: from .env.
set -euo pipefail
es=https://elasticsearch:9200
curl_es() {
  curl -fsS --cacert /certs/ca/ca.crt -u "elastic:${ELASTIC_PASSWORD}" \
    -H 'Content-Type: application/json' "$@"
}
until curl_es "$es/_cluster/health?wait_for_status=yellow&timeout=5s" > /dev/null; do
  echo "waiting for Elasticsearch"; sleep 2
done
for role in admin pipeline alerts analyst; do
  curl_es -X PUT "$es/_security/role/newsbeam_$role" \
    --data-binary "@/setup/roles/newsbeam_$role.json" > /dev/null
done
user() {  # name role password
  printf '{"password": "%s", "roles": ["%s"]}' "$3" "$2" \
    | curl_es -X PUT "$es/_security/user/$1" --data-binary @- > /dev/null
}
user newsbeam_admin newsbeam_admin "${NEWSBEAM_ADMIN_PASSWORD}"
user newsbeam_pipeline newsbeam_pipeline "${NEWSBEAM_PIPELINE_PASSWORD}"
user newsbeam_alerts newsbeam_alerts "${NEWSBEAM_ALERTS_PASSWORD}"
user newsbeam_analyst newsbeam_analyst "${NEWSBEAM_ANALYST_PASSWORD}"
# Kibana's service account token, made once and kept in the kibana-token volume.
if [ ! -s /kibana-token/token ]; then
  curl_es -X DELETE "$es/_security/service/elastic/kibana/credential/token/newsbeam" \
    > /dev/null 2>&1 || true
  curl_es -X POST "$es/_security/service/elastic/kibana/credential/token/newsbeam" \
    | sed -n 's/.*"value":"\([^"]*\)".*/\1/p' > /kibana-token/token.tmp
  test -s /kibana-token/token.tmp
  mv /kibana-token/token.tmp /kibana-token/token
  chown 1000:0 /kibana-token/token
  chmod 600 /kibana-token/token
fi
echo "roles, users and the Kibana token are ready"
