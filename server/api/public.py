"""What residents reach without signing in: the progress of their case (一网通办)."""
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from onewindow.progress import public_progress

from .common import ctx
from .schemas import LocalDateTime

blp = Blueprint("public", __name__, url_prefix="/api/public", description="Residents, no sign-in")


class ProgressArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    number = fields.String(required=True, validate=validate.Length(min=1, max=40), metadata={"description": "the case number"})
    code = fields.String(required=True, validate=validate.Length(min=1, max=12),
                         metadata={"description": "the verification code on the receipt"})


class StageSchema(Schema):
    key = fields.String(metadata={"description": "received, supplement, accepted, refused, review, concluded, ready, "
                                                 "collected, delivering, delivered"})
    name = fields.String(metadata={"description": "in Chinese"})
    status = fields.String(metadata={"description": "done, current or pending"})
    at = LocalDateTime(allow_none=True)


class ProgressSchema(Schema):
    number = fields.String()
    service = fields.String()
    applicant = fields.String(metadata={"description": "the applicant's name, masked (王*)"})
    status = fields.String()
    stages = fields.List(fields.Nested(StageSchema))


@blp.route("/progress")
class Progress(MethodView):
    @blp.arguments(ProgressArgs, location="query")
    @blp.response(200, ProgressSchema)
    @blp.alt_response(404, description="no case with this number and code (the same answer for a wrong number and a wrong code)")
    @blp.alt_response(429, description="too many wrong codes from this address or for this number; see Retry-After")
    def get(self, args):
        """A case's progress for its number and the code on its receipt; no sign-in, nothing personal."""
        return public_progress(ctx(), args["number"], args["code"], request.remote_addr)
