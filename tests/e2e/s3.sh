# Sourced after lib.sh and repo.sh by the s3-* scenarios: the test bed's RGW
# (ctest's rgw fixture wrote $HCI_S3_ENV; skipped, 77, without one) and a
# repository under a prefix no other run uses.
[ -n "${HCI_S3_ENV:-}" ] && [ -s "$HCI_S3_ENV" ] || { echo "SKIP: no RGW test bed ($HCI_S3_ENV)"; exit 77; }
. "$HCI_S3_ENV"
S3_BUCKET=hci-e2e
S3_PREFIX=$(basename "$T")
export ZADP_REPO="s3://$S3_BUCKET/$S3_PREFIX"
# The S3 store's cache (zadp-repo --cache-dir) of this run only, not $HOME's.
export ZADP_CACHE_DIR="$T/cache"
unset ZADP_S3_STATS

# s3_stat FILE FIELD: a field of the ZADP_S3_STATS line a command left on its
# stderr in FILE ("get", "put", "head"...)
s3_stat() {
    local line
    line=$(grep '^{"s3_stats"' "$1" | tail -n 1) || die "no s3_stats line in $1: $(cat "$1")"
    jq -r ".s3_stats.$2" <<< "$line"
}

# s3_objects DIR: every object under the repository's prefix, fetched into
# DIR (one file per key, '/' as '%'); the keys on stdout. DIR "-": only
# the keys. Signs SigV4 with
# the standard library so the secret stays in the environment.
s3_objects() {
    python3 - "$S3_BUCKET" "$S3_PREFIX/" "$1" <<'PY'
import datetime, hashlib, hmac, os, sys, urllib.parse, urllib.request, xml.etree.ElementTree as ET
bucket, prefix, out = sys.argv[1:4]
ep = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
host = urllib.parse.urlparse(ep).netloc
ak, sk, region = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ.get("AWS_REGION", "us-east-1")
def get(path, query):
    t = datetime.datetime.utcnow(); amz = t.strftime("%Y%m%dT%H%M%SZ"); day = amz[:8]
    q = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(query.items()))
    empty = hashlib.sha256(b"").hexdigest()
    canon = f"GET\n{urllib.parse.quote(path)}\n{q}\nhost:{host}\nx-amz-content-sha256:{empty}\nx-amz-date:{amz}\n\nhost;x-amz-content-sha256;x-amz-date\n{empty}"
    scope = f"{day}/{region}/s3/aws4_request"
    sts = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{hashlib.sha256(canon.encode()).hexdigest()}"
    k = ("AWS4" + sk).encode()
    for part in (day, region, "s3", "aws4_request"): k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(ep + urllib.parse.quote(path) + ("?" + q if q else ""), headers={
        "x-amz-date": amz, "x-amz-content-sha256": empty,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={sig}"})
    return urllib.request.urlopen(req).read()
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
token = None
while True:
    query = {"list-type": "2", "prefix": prefix}
    if token: query["continuation-token"] = token
    root = ET.fromstring(get(f"/{bucket}", query))
    for c in root.iter(ns + "Contents"):
        key = c.find(ns + "Key").text
        if out != "-":
            open(os.path.join(out, key.replace("/", "%")), "wb").write(get(f"/{bucket}/{key}", {}))
        print(key)
    token = root.findtext(ns + "NextContinuationToken")
    if not token: break
PY
}

# s3_keys: the keys under the repository's prefix, without the prefix
s3_keys() { s3_objects - | sed "s|^$S3_PREFIX/||"; }

# s3_server_now: the store's clock (the Date of its answer), in seconds since
# the epoch: leases are judged by it, never by this host's.
s3_server_now() {
    local date
    date=$(curl -sS -o /dev/null -D - "$AWS_ENDPOINT_URL/" | tr -d '\r' | sed -n 's/^[Dd]ate: //p')
    [ -n "$date" ] || die "no Date from $AWS_ENDPOINT_URL"
    date -d "$date" +%s
}

# s3_lease_time NAME KIND: the store time of the last refresh of the live
# lease of KIND (s or x) under locks/NAME/ (the newest, if several).
s3_lease_time() {
    local dir=$T/.leases
    rm -rf "$dir" && mkdir "$dir"
    s3_objects "$dir" >/dev/null
    local leases=("$dir"/*"%locks%${1//\//%}%$2-"*)
    [ -e "${leases[0]}" ] || return 0
    jq -s 'map(.time) | max' "${leases[@]}"
}

# s3_wait_until TIME: polls until the store's clock has passed TIME (seconds
# since the epoch): a wait measured by the clock leases are judged by, not
# a sleep that a loaded machine may outrun or fall behind.
s3_wait_until() {
    while [ "$(s3_server_now)" -le "$1" ]; do sleep 0.5; done
}
