"""Residents of the data centre (intake window and departments): search and one record.

Identity and phone numbers are masked unless the caller has PII rights (intake, admin);
every full read is recorded in the trail by the use case.
"""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from datacentre import registry

from ..auth import login_required
from .common import actor, ctx
from .schemas import Page, PageArgs

blp = Blueprint("residents", __name__, url_prefix="/api/residents", description="Residents (data centre)")


class ResidentListArgs(PageArgs):
    q = fields.String(
        validate=validate.Length(max=50),
        metadata={"description": "name (or its beginning), a full identity number, or its first 6–17 digits"},
    )


class ResidenceSchema(Schema):
    house_id = fields.Integer()
    house_code = fields.String()
    address = fields.String()
    building_kind = fields.String(metadata={"description": "courtyard | apartment | office | public"})
    grid = fields.String()
    community = fields.String()


class ResidentSchema(Schema):
    id = fields.Integer()
    id_number = fields.String(metadata={"description": "masked (110102********1234) without PII rights"})
    id_number_masked = fields.Boolean()
    name = fields.String()
    sex = fields.String(metadata={"description": "male | female"})
    birth_date = fields.Date()
    age = fields.Integer()
    ethnicity = fields.String()
    phone = fields.String(allow_none=True, metadata={"description": "masked without PII rights"})
    hukou_local = fields.Boolean(metadata={"description": "household registration (户籍) in this sub-district"})
    hukou_address = fields.String()
    household_no = fields.String(allow_none=True)
    relation_to_head = fields.String(allow_none=True)
    marital_status = fields.String(allow_none=True)
    disability_grade = fields.Integer(allow_none=True, metadata={"description": "1 (most severe) … 4"})
    disability_kind = fields.String(allow_none=True)
    low_income_status = fields.String(allow_none=True, metadata={"description": "minimum_living | low_income | extreme_poverty"})
    status = fields.String(metadata={"description": "active | moved_out | deceased"})
    residence = fields.Nested(ResidenceSchema, allow_none=True)


class HouseholdMemberSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    relation_to_head = fields.String(allow_none=True)
    age = fields.Integer()


class VehicleSchema(Schema):
    plate = fields.String()
    kind = fields.String()


class CertificateSchema(Schema):
    id = fields.Integer()
    holder_id = fields.Integer()
    type = fields.String(metadata={"description": "senior_card, disability_certificate, disability_card, low_income_certificate, …"})
    type_name = fields.String()
    number = fields.String()
    status = fields.String(metadata={"description": "valid | expired | superseded | revoked"})
    issued_on = fields.Date()
    valid_from = fields.Date()
    valid_until = fields.Date(allow_none=True)
    issuing_case_id = fields.Integer(allow_none=True)
    issuing_case_number = fields.String(allow_none=True)
    issued_by = fields.String()
    data = fields.Dict(keys=fields.String(), values=fields.Raw())


class ResidentDetailSchema(ResidentSchema):
    household = fields.List(fields.Nested(HouseholdMemberSchema))
    vehicles = fields.List(fields.Nested(VehicleSchema))
    certificates = fields.List(fields.Nested(CertificateSchema))
    attributes = fields.Dict(keys=fields.String(), values=fields.String())


class ResidentPage(Page):
    items = fields.List(fields.Nested(ResidentSchema))


@blp.route("")
class Residents(MethodView):
    @login_required
    @blp.arguments(ResidentListArgs, location="query", unknown=RAISE)
    @blp.response(200, ResidentPage)
    def get(self, args):
        """Find residents by name or identity number (intake, clerks, supervisors, auditors, admins)."""
        items, cursor = registry.search_residents(ctx(), actor(), **args)
        return {"items": items, "next_cursor": cursor}


@blp.route("/<int:resident_id>")
class ResidentResource(MethodView):
    @login_required
    @blp.response(200, ResidentDetailSchema)
    def get(self, resident_id):
        """One resident with residence, household, vehicles and certificates (证照)."""
        return registry.get_resident(ctx(), actor(), resident_id)
