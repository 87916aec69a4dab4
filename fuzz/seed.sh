#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs built from the Keycloak sample
# (examples/keycloak/) and the dev vectors (tests/vectors/dev, or $XCONNAUTH_VECTORS).
# Idempotent: files are named by their SHA-1, existing corpus entries are kept.
# Needs only bash and python3 (stdlib).
set -euo pipefail
FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$FUZZ_DIR/.." && pwd)"
VECTORS="${XCONNAUTH_VECTORS:-$ROOT/tests/vectors/dev}"

python3 - "$FUZZ_DIR" "$ROOT" "$VECTORS" <<'PY'
import base64, glob, hashlib, json, os, random, struct, sys

fuzz_dir, root, vectors = sys.argv[1:4]
corpus = os.path.join(fuzz_dir, "corpus")
counts = {}

def put(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        counts[target] = counts.get(target, 0) + 1

def read(path):
    with open(path, "rb") as f:
        return f.read()

def b64dec(seg):
    """Lenient base64url decode (the vectors include deliberately broken segments)."""
    try:
        s = seg.replace("+", "-").replace("/", "_").rstrip("=")
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except Exception:
        return None

sample = os.path.join(root, "examples", "keycloak")
tokens, json_docs, config_docs = [], [], []

for p in sorted(glob.glob(os.path.join(sample, "*.jwt"))):
    tokens.append(read(p).decode().strip())
for p in sorted(glob.glob(os.path.join(sample, "*.json"))):
    config_docs.append(read(p))

if os.path.isdir(vectors):
    for p in sorted(glob.glob(os.path.join(vectors, "**", "*.json"), recursive=True)):
        config_docs.append(read(p))
    for p in sorted(glob.glob(os.path.join(vectors, "*.jsonl"))):
        for line in read(p).decode().splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            if isinstance(case.get("token"), str):
                tokens.append(case["token"])
            if "jwks" in case:
                config_docs.append(json.dumps(case["jwks"]).encode())
            if isinstance(case.get("options"), dict):
                config_docs.append(json.dumps(case["options"]).encode())
            if isinstance(case.get("claims"), dict):
                json_docs.append(json.dumps(case["claims"], ensure_ascii=False).encode())
else:
    print(f"seed.sh: no vectors at {vectors}; seeding from examples/keycloak only", file=sys.stderr)

headers = []
for t in tokens:
    put("token", t)
    segs = t.split(".")
    for i, seg in enumerate(segs[:2]):
        raw = b64dec(seg)
        if raw is not None:
            json_docs.append(raw)
            if i == 0:
                headers.append(raw)
for t in tokens[:12]:
    for prefix in ("Bearer ", "bearer  ", " BEARER\t"):
        put("token", prefix + t)
put("token", "Basic dXNlcjpwdw==")

for h in headers:
    put("header", h)
for doc in config_docs:
    put("jwks", doc)
    put("json", doc)
for doc in json_docs:
    put("json", doc)

# verify_mutate: 4-byte edits (op, u16 BE position, byte), see fuzz_targets/verify_mutate.rs.
rng = random.Random(20251124)
sample_token = read(os.path.join(sample, "token.jwt")).decode().strip()
d1, d2 = sample_token.index("."), sample_token.rindex(".")
alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
for region in ((0, d1), (d1 + 1, d2), (d2 + 1, len(sample_token))):
    for _ in range(12):
        edits = b""
        for _ in range(rng.randint(1, 3)):
            op = rng.choice([0, 0, 2, 3])
            edits += struct.pack(">BHB", op, rng.randrange(*region), rng.choice(alphabet))
        put("verify_mutate", edits)

# backends: [mode][alg][...] (fuzz_targets/backends.rs). Mode 0/1: 3-byte edits of the
# encoded message / the message; mode 2: a whole token; mode 3: msg || signature.
for alg in range(6):
    put("backends", bytes([0, alg]))
    for _ in range(4):
        edits = b"".join(struct.pack(">HB", rng.randrange(512), rng.randrange(256)) for _ in range(rng.randint(1, 3)))
        put("backends", bytes([0, alg]) + edits)
        put("backends", bytes([1, alg]) + edits)
for t in tokens[:64]:
    put("backends", b"\x02\x00" + t.encode("utf-8", "surrogatepass"))

# capi: [selector][cap][...] (fuzz_targets/capi.rs): 0 token, 1 Authorization value,
# 2 JWKS, 3 policy, 4+ HTTP helper strings.
for i, t in enumerate(tokens[:64]):
    put("capi", bytes([0, i % 4]) + t.encode("utf-8", "surrogatepass"))
    put("capi", bytes([1, i % 4]) + b"Bearer " + t.encode("utf-8", "surrogatepass"))
for doc in config_docs[:64]:
    put("capi", b"\x02\x00" + doc)
    put("capi", b"\x03\x00" + doc)
put("capi", b"\x04\x02demo\x00urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb")

# claims: an `arbitrary`-decoded struct; any bytes are a valid input.
for n in range(48):
    put("claims", bytes(rng.randrange(256) for _ in range(rng.choice([16, 64, 256, 1024]))))

# Issue 17: the worst the size limits admit, so a quadratic regression in duplicate-
# name checking times out at once (smoke.sh runs with -timeout=1): one object with as
# many distinct names as 1 MiB holds (JWKS and discovery targets), and a 16 KB token
# payload of names (json).
def many_names(prefix, size):
    parts, i, n = [prefix], 0, len(prefix)
    while n < size - 16:
        item = ',"%x":0' % i
        parts.append(item)
        n += len(item)
        i += 1
    return "".join(parts) + "}"

mib = 1 << 20
put("jwks", '{"keys":[],"x":' + many_names('{"y":0', mib - 40) + "}")
put("discovery", many_names('{"issuer":"https://kc/realms/a","jwks_uri":"https://kc/c"', mib - 8))
put("jwks_skipped", many_names('{"keys":[{"kty":"RSA","kid":7}]', mib - 8))
put("json", many_names('{"exp":1', 12_000))
for doc in config_docs:
    put("discovery", doc)
    put("jwks_skipped", doc)

for target in sorted(counts):
    print(f"seed.sh: {counts[target]:4d} new seeds in corpus/{target}")
if not counts:
    print("seed.sh: corpus already seeded")
PY
