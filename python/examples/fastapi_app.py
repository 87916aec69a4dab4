"""A FastAPI service that trusts a Keycloak realm: `/health` is public, `/me` needs a
valid token, `/orders` the `orders:read` scope, `/admin` the realm role `admin`.

    pip install 'xconnauth[fastapi]' uvicorn
    ISSUER=http://127.0.0.1:8180/realms/demo uvicorn fastapi_app:app --port 3000

docs/integrations/fastapi.md shows this file; python/tests/test_fastapi.py checks both
agree and serves `create_app` against a loopback issuer.
"""

import os
from typing import Any, Dict

from fastapi import Depends, FastAPI, Security

from xconnauth import Claims
from xconnauth.fastapi import XConnAuth


def create_app(issuer: str) -> FastAPI:
    # Discovery at <issuer>/.well-known/openid-configuration, keys cached and
    # refreshed by themselves (rotation, unknown kid, issuer down).
    auth = XConnAuth(issuer, realm="demo")
    app = FastAPI(title="orders")
    auth.install(app)  # refusals: RFC 7807 problem+json, WWW-Authenticate

    @app.get("/health")
    async def health() -> Dict[str, str]:
        return {"status": "ok"}

    @app.get("/me", responses=auth.responses)
    async def me(claims: Claims = Depends(auth)) -> Dict[str, Any]:
        return {"sub": claims.subject, "client": claims.get("azp"), "scopes": sorted(claims.scopes)}

    @app.get("/orders", responses=auth.responses)
    async def orders(claims: Claims = Security(auth, scopes=["orders:read"])) -> Dict[str, Any]:
        return {"orders": [], "for": claims.get("azp")}

    @app.get("/admin", responses=auth.responses)
    async def admin(claims: Claims = Depends(auth.require(realm_roles=["admin"]))) -> Dict[str, Any]:
        return {"admin": claims.subject}

    return app


app = create_app(os.environ.get("ISSUER", "http://127.0.0.1:8180/realms/demo"))
