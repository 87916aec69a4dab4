"""Regenerates the signed test tokens in this folder (dev tool; needs `cryptography`).

Signs with the public DEMO key of examples/keycloak (never trust it anywhere) and with
the bench keys, so tests cover every supported algorithm and multi-realm setups.
"""
import base64, json, pathlib
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent.parent.parent

def b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def sign(key, alg: str, header: dict, claims: dict) -> str:
    h = b64(json.dumps(header, separators=(",", ":")).encode())
    p = b64(json.dumps(claims, separators=(",", ":")).encode())
    msg = f"{h}.{p}".encode()
    hash_alg = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[alg[2:]]
    if alg.startswith("RS"):
        sig = key.sign(msg, padding.PKCS1v15(), hash_alg)
    else:
        pad = padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size)
        sig = key.sign(msg, pad, hash_alg)
    return f"{h}.{p}.{b64(sig)}"

def load(path):
    return serialization.load_pem_private_key((ROOT / path).read_bytes(), password=None)

demo = load("examples/keycloak/demo-signing-key.pem")
demo_kid = json.loads((ROOT / "examples/keycloak/jwks.json").read_text())["keys"][1]["kid"]
bench = load("benches/data/bench-rsa2048.pem")

base = {"iss": "https://sso.example.com/realms/demo", "aud": "product-factory", "typ": "Bearer",
        "sub": "u1", "azp": "demo-client", "scope": "openid spark", "iat": 1763999940, "exp": 1764003540}
out = {}
for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]:
    out[alg] = sign(demo, alg, {"alg": alg, "kid": demo_kid}, base)
# Realm "other", signed with the bench key: for multi-issuer binding tests.
other = dict(base, iss="https://sso.example.com/realms/other")
out["other_realm"] = sign(bench, "RS256", {"alg": "RS256", "kid": "bench-2048"}, other)
# The bench key claiming to be realm "demo": must fail when keys are bound per realm.
out["other_key_claims_demo"] = sign(bench, "RS256", {"alg": "RS256", "kid": "bench-2048"}, base)
(HERE / "tokens.json").write_text(json.dumps(out, indent=1) + "\n")
print("wrote", len(out), "tokens")
