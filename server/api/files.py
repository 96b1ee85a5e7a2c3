"""Files on cases (materials scans, attachments): upload, list, download."""
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, fields, validate

from onewindow import files as use_cases

from ..auth import login_required
from ..files import file_response, limits, read_sessions, store, stores
from .common import actor, ctx
from .schemas import LocalDateTime

blp = Blueprint("files", __name__, url_prefix="/api", description="Case files (materials, attachments)")


class UploadFiles(Schema):
    class Meta:
        unknown = EXCLUDE

    file = Upload(required=True, metadata={"description": "PDF, JPEG, PNG or OFD (judged by content)"})


class UploadForm(Schema):
    class Meta:
        unknown = EXCLUDE

    material_code = fields.String(validate=validate.Length(max=40), metadata={"description": "the checklist item it is a scan of"})
    task_id = fields.Integer(strict=False, validate=validate.Range(min=1, max=2**63 - 1),
                             metadata={"description": "the task it was attached on"})


class FileSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    task_id = fields.Integer(allow_none=True)
    name = fields.String()
    size = fields.Integer(metadata={"description": "bytes"})
    sha256 = fields.String(metadata={"description": "hex; also in the trail event of the upload"})
    content_type = fields.String(metadata={"description": "application/pdf, image/jpeg, image/png or application/ofd"})
    material_code = fields.String(allow_none=True)
    uploaded_by = fields.String()
    uploaded_at = LocalDateTime()
    previewable = fields.Boolean(metadata={"description": "an image the browser may show inline"})


class FileList(Schema):
    items = fields.List(fields.Nested(FileSchema))


@blp.route("/cases/<int:case_id>/files")
class CaseFiles(MethodView):
    @login_required
    @blp.arguments(UploadForm, location="form")
    @blp.arguments(UploadFiles, location="files")
    @blp.response(201, FileSchema)
    @blp.alt_response(413, description="the file, or the case's files together, too large")
    @blp.alt_response(415, description="not PDF, JPEG, PNG or OFD by content, or a damaged or oversized image")
    def post(self, form, upload, case_id):
        """Attach a file to the case (multipart ``file``, optional ``material_code``); each upload is in the trail."""
        storage = upload["file"]
        return use_cases.upload_file(ctx(), actor(), store(), limits(), case_id, storage.stream, storage.filename,
                                     material_code=form.get("material_code"), task_id=form.get("task_id")), 201

    @login_required
    @blp.response(200, FileList)
    def get(self, case_id):
        """The case's files, oldest first (same visibility as the case's personal data)."""
        return {"items": use_cases.list_files(ctx(), actor(), case_id)}


@blp.route("/files/<int:file_id>")
class FileDownload(MethodView):
    @login_required
    @blp.response(200, description="the file's bytes, as an attachment")
    def get(self, file_id):
        """Download a file (``Content-Disposition: attachment``); the download is in the trail with the SHA-256."""
        view, chunks = use_cases.open_file(ctx(), actor(), stores(), file_id, read_sessions())
        return file_response(view, chunks)
