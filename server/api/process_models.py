from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from workflows import cases as case_use_cases
from workflows import process_models as use_cases

from ..auth import login_required
from .common import actor, ctx, etag
from .schemas import CaseSchema, DeployForm, DeployRequest, ProcessModelList, ProcessModelSchema, StartInstanceRequest

blp = Blueprint("process_models", __name__, url_prefix="/api/process-models", description="Process models (designers)")

MAX_FILES = 50


@blp.route("")
class ProcessModels(MethodView):
    @login_required
    @blp.arguments(DeployForm, location="form")
    @blp.arguments(DeployRequest, location="files")
    @blp.response(201, ProcessModelSchema)
    @blp.alt_response(200, schema=ProcessModelSchema, description="identical content: the existing version")
    def post(self, form, upload):
        """Deploy one or more .bpmn/.dmn/.json files as the next version of their process key."""
        storages = upload["files"][:MAX_FILES + 1]
        if len(storages) > MAX_FILES:
            from workflows.errors import InvalidInput

            raise InvalidInput(f"at most {MAX_FILES} files per deployment")
        files = [(s.filename or "unnamed", s.read()) for s in storages]
        model, created = use_cases.deploy_model(ctx(), actor(), files, key=form.get("key"))
        return model, 201 if created else 200

    @login_required
    @blp.response(200, ProcessModelList)
    def get(self):
        """The latest version of each process key."""
        return {"items": use_cases.list_models(ctx(), actor())}


@blp.route("/<string:key>")
class ProcessModelVersions(MethodView):
    @login_required
    @blp.response(200, ProcessModelList)
    def get(self, key):
        """All versions of one process key, newest first."""
        return {"items": use_cases.model_versions(ctx(), actor(), key)}


@blp.route("/<string:key>/versions/<int:version>/xml")
class ProcessModelXml(MethodView):
    @login_required
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="application/xml")
    def get(self, key, version):
        """The BPMN XML of one version, as deployed."""
        filename, content = use_cases.model_xml(ctx(), actor(), key, version)
        return Response(
            content,
            mimetype="application/xml",
            headers={"Content-Disposition": f'inline; filename="{filename}"', "X-Content-Type-Options": "nosniff"},
        )


@blp.route("/<string:key>/instances")
class ProcessInstances(MethodView):
    @login_required
    @blp.arguments(StartInstanceRequest)
    @blp.response(201, CaseSchema)
    def post(self, body, key):
        """Start a case of this process (for processes outside the service catalogue)."""
        case = case_use_cases.start_case(ctx(), actor(), key, body["data"], version=body.get("version"))
        return case, 201, {"ETag": etag("case", case["id"], case["version"]), "Location": f"/api/cases/{case['id']}"}
