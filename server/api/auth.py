from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from people.logins import log_in
from people.user_admin import sign_out_everywhere

from ..auth import issue_token, login_required
from .common import actor, ctx
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


@blp.route("/sign-out-everywhere")
class SignOutEverywhere(MethodView):
    @login_required
    @blp.response(204)
    def post(self):
        """End every token and page session of the caller, this token included (a lost phone, a
        shared computer); sign in again for a new one. Every server refuses them within
        ``REDWALL_REVOCATION_INTERVAL`` seconds, this one at once."""
        sign_out_everywhere(ctx(), actor())
        return None
