"""Users of the admin's tenant: list, add, change roles and groups, reset the password, disable."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from people import user_admin
from workflows.accounts import ROLES

from ..auth import login_required
from .common import actor, ctx
from .schemas import LocalDateTime, StrictSchema

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users (admins)")


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    groups = fields.List(fields.String())
    supervises = fields.List(fields.String())
    active = fields.Boolean()
    created_at = LocalDateTime()


class UserChange(StrictSchema):
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True)
    groups = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    supervises = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    display_name = fields.String(validate=validate.Length(max=200))


class NewUser(UserChange):
    username = fields.String(required=True, validate=validate.Length(min=2, max=150))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=user_admin.MIN_PASSWORD, max=1024))


class PasswordReset(StrictSchema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=user_admin.MIN_PASSWORD, max=1024))


@blp.route("")
class Users(MethodView):
    @login_required
    @blp.response(200, UserSchema(many=True))
    def get(self):
        """The users of your tenant."""
        return user_admin.list_users(ctx(), actor())

    @login_required
    @blp.arguments(NewUser)
    @blp.response(201, UserSchema)
    @blp.alt_response(409, description="the username is taken")
    def post(self, body):
        """Add a user to your tenant."""
        return user_admin.create_user(ctx(), actor(), body["username"], body["password"], body["roles"], body["groups"],
                                      body["supervises"], body.get("display_name", ""))


@blp.route("/<username>")
class UserResource(MethodView):
    @login_required
    @blp.arguments(UserChange)
    @blp.response(200, UserSchema)
    def put(self, body, username):
        """Replace the user's roles, groups and supervised groups."""
        return user_admin.update_user(ctx(), actor(), username, body["roles"], body["groups"], body["supervises"],
                                      body.get("display_name"))


@blp.route("/<username>/password")
class UserPassword(MethodView):
    @login_required
    @blp.arguments(PasswordReset)
    @blp.response(200, UserSchema)
    def post(self, body, username):
        """Set a new password; the user's existing tokens and sessions stop working."""
        return user_admin.reset_password(ctx(), actor(), username, body["password"])


@blp.route("/<username>/disable")
class UserDisable(MethodView):
    @login_required
    @blp.response(200, UserSchema)
    def post(self, username):
        """Disable the user: its tokens and sessions get 401 on their next request, and stay revoked."""
        return user_admin.set_active(ctx(), actor(), username, False)


@blp.route("/<username>/enable")
class UserEnable(MethodView):
    @login_required
    @blp.response(200, UserSchema)
    def post(self, username):
        """Enable a disabled user again (it signs in anew)."""
        return user_admin.set_active(ctx(), actor(), username, True)
