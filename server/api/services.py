"""The service catalogue (17 categories, 22 services) and prefilled forms for the window."""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from onewindow import prefill as prefill_cases
from onewindow.catalogue import load_catalogue
from onewindow.eligibility import check_eligibility
from onewindow.materials import service_checklist

from ..auth import login_required
from ..form_labels import localise
from .common import actor, ctx

blp = Blueprint("services", __name__, url_prefix="/api/services", description="Service catalogue (一窗受理)")


class ServiceSchema(Schema):
    code = fields.String()
    name = fields.String(metadata={"description": "Chinese name"})
    name_en = fields.String()
    category = fields.String()
    category_name = fields.String()
    time_limit_working_days = fields.Integer(metadata={"description": "承诺时限 in working days"})
    process_key = fields.String()
    department = fields.String(metadata={"description": "the deciding department (group)"})
    issues_certificate = fields.String(allow_none=True, metadata={"description": "certificate type a positive decision issues"})
    audit_sample_rate = fields.Float(metadata={"description": "share of concluded cases the auditors review"})
    total_fields = fields.Integer()


class MaterialConditionSchema(Schema):
    field = fields.String(metadata={"description": "a field of the service's form"})
    equals = fields.Raw(metadata={"description": "the value that makes the item asked for"})


class MaterialSchema(Schema):
    code = fields.String()
    name = fields.String(metadata={"description": "Chinese name"})
    name_en = fields.String()
    original = fields.Boolean(metadata={"description": "true: the original is shown; false: a copy is handed in"})
    count = fields.Integer(metadata={"description": "how many (copies, photos)"})
    required = fields.Boolean(metadata={"description": "false: asked for only when `condition` holds"})
    condition = fields.Nested(MaterialConditionSchema, allow_none=True)
    certificate_type = fields.String(allow_none=True, metadata={
        "description": "an electronic certificate of this type in the library stands in for the paper"})


class CoveringCertificateSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    number = fields.String()


class ChecklistItemSchema(MaterialSchema):
    applies = fields.Boolean(metadata={"description": "asked for of this applicant (conditions read from the form given)"})
    certificate = fields.Nested(CoveringCertificateSchema, allow_none=True,
                                metadata={"description": "the library's certificate that stands in (已调用电子证照), or null"})


class ChecklistSchema(Schema):
    service_code = fields.String()
    applicant_id = fields.Integer()
    items = fields.List(fields.Nested(ChecklistItemSchema))


class EligibilityRuleSchema(Schema):
    rule = fields.String(metadata={"description": "min_age, hukou_local, hukou_nonlocal, certificate, no_valid_certificate, "
                                                  "max_disability_grade, low_income_status, vehicle, no_open_case"})
    value = fields.Integer(metadata={"description": "the age or grade limit of min_age / max_disability_grade"})
    type = fields.String(metadata={"description": "the certificate type of certificate / no_valid_certificate"})
    any_of = fields.List(fields.String(), metadata={"description": "the statuses low_income_status accepts"})


class ServiceDetailSchema(ServiceSchema):
    materials = fields.List(fields.Nested(MaterialSchema), metadata={"description": "required materials"})
    eligibility = fields.List(fields.Nested(EligibilityRuleSchema),
                              metadata={"description": "conditions checked before acceptance (GET …/check)"})
    form = fields.Dict(metadata={"description": "JSON Schema; each field's x-source says where its value may come from"})


class PrefillArgs(Schema):
    class Meta:
        unknown = RAISE

    applicant_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))


class PrefillValueSchema(Schema):
    value = fields.Raw(metadata={"description": "string, number or boolean as the form wants"})
    source = fields.String(metadata={"description": "registry:person, registry:household, certificate:<type>:<number>, case:<number>"})


class PrefillSchema(Schema):
    service_code = fields.String()
    applicant_id = fields.Integer()
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.Nested(PrefillValueSchema))
    missing = fields.List(fields.String(), metadata={"description": "fields the clerk types"})
    total_fields = fields.Integer()


class EligibilityProblemSchema(Schema):
    rule = fields.String(metadata={"description": "the catalogue rule not met"})
    message = fields.String(metadata={"description": "a sentence in the request's locale (Chinese by default)"})


class OpenCaseSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String(metadata={"description": "open, waiting_applicant or suspended"})


class EligibilitySchema(Schema):
    service_code = fields.String()
    applicant_id = fields.Integer()
    eligible = fields.Boolean(metadata={"description": "true when no rule is broken and no case of the service is open"})
    problems = fields.List(fields.Nested(EligibilityProblemSchema))
    open_cases = fields.List(fields.Nested(OpenCaseSchema), metadata={"description": "the applicant's open cases of this service"})


@blp.route("")
class Services(MethodView):
    @login_required
    @blp.response(200, ServiceSchema(many=True))
    def get(self):
        """Every service of the catalogue."""
        return [s.summary() for s in load_catalogue().services.values()]


@blp.route("/<string:code>")
class ServiceResource(MethodView):
    @login_required
    @blp.response(200, ServiceDetailSchema)
    def get(self, code):
        """One service with its form (JSON Schema) and required materials."""
        return load_catalogue().service(code).detail()


@blp.route("/<string:code>/prefill")
class Prefill(MethodView):
    @login_required
    @blp.arguments(PrefillArgs, location="query")
    @blp.response(200, PrefillSchema)
    def get(self, args, code):
        """The form filled with what the data centre, the certificate library and earlier cases know."""
        result = prefill_cases.prefill(ctx(), actor(), code, args["applicant_id"])
        return {**result, "fields_": result["fields"]}


@blp.route("/<string:code>/check")
class Check(MethodView):
    @login_required
    @blp.arguments(PrefillArgs, location="query")
    @blp.response(200, EligibilitySchema)
    def get(self, args, code):
        """May this resident apply? The service's eligibility rules and open duplicates, in words (intake, admin)."""
        result = check_eligibility(ctx(), actor(), code, args["applicant_id"])
        return {**result, "problems": localise(result["problems"])}


@blp.route("/<string:code>/materials")
class Materials(MethodView):
    @login_required
    @blp.arguments(PrefillArgs, location="query")
    @blp.response(200, ChecklistSchema)
    def get(self, args, code):
        """The materials checklist for a resident, with what the certificate library already holds (intake, admin)."""
        return service_checklist(ctx(), actor(), code, args["applicant_id"])
