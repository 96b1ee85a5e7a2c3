from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from workflows.logins import log_in


from ..auth import issue_token
from .common import ctx
from .schemas import TokenRequest, TokenResponse

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Access tokens")




@blp.route("/token")
class Token(MethodView):
    @blp.doc(security=[])
    @blp.arguments(TokenRequest)
    @blp.response(200, TokenResponse)
    @blp.alt_response(401, description="wrong username or password")
    @blp.alt_response(429, description="too many failed logins for this username or address; see Retry-After")
    def post(self, body):
        """Exchange username and password for a bearer token (failed attempts are rate-limited)."""
        actor = log_in(ctx(), body["username"], body["password"], request.remote_addr)
        if actor is None:
            from ..errors import error_response

            return error_response(401, "wrong username or password")
        token, expires = issue_token(actor)
        return {
            "token": token,
            "expires_at": expires,
            "user": {
                "username": actor.username,
                "roles": sorted(actor.roles),
                "groups": sorted(actor.groups),
                "supervises": sorted(actor.supervised_groups),
                "tenant": actor.tenant_code,
            },
        }
