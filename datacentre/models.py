"""Tables of the data centre, in the engine's metadata (``workflows.models.Base``).

Every row carries ``tenant_id``; natural keys (grid code, building code, house code,
identity number, plate, credit code, certificate type + number) are unique per tenant and
are what CSV imports match on. Table names start with ``dc_``.

Value sets (kept as short strings, documented here and in ``datacentre.csv_import``):

* building ``kind``: ``courtyard`` (single-storey courtyard house, 平房院落), ``apartment``
  (楼房), ``office``, ``public`` (school, hospital, government).
* person ``sex``: ``male`` | ``female``; ``status``: ``active`` | ``moved_out`` | ``deceased``;
  ``relation_to_head`` (与户主关系): ``head``, ``spouse``, ``child``, ``parent``,
  ``grandchild``, ``sibling``, ``other``; ``disability_grade`` 1 (most severe) … 4;
  ``disability_kind``: ``visual``, ``hearing``, ``speech``, ``physical``, ``intellectual``,
  ``mental``, ``multiple``; ``low_income_status``: ``minimum_living`` (低保),
  ``low_income`` (低收入), ``extreme_poverty`` (特困) or empty.
* parking ``kind``: ``street`` (路侧), ``public_lot`` (公共停车场), ``residential``
  (小区/地下车库), ``shared`` (错时共享); ``capacity`` is the number of spaces a row stands for.
* certificate ``status``: ``valid`` | ``superseded`` | ``revoked`` (expiry is ``valid_until``).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflows.models import Base, BigId, UtcDateTime, utcnow


class GridCell(Base):
    """A cell of the grid-management system (网格), inside a community (社区)."""

    __tablename__ = "dc_grid_cells"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200), default="")
    community: Mapped[str] = mapped_column(String(100), default="")
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Building(Base):
    """A building or a single-storey courtyard house (平房院落), with its place on the map."""

    __tablename__ = "dc_buildings"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300))
    grid_cell_id: Mapped[int] = mapped_column(ForeignKey("dc_grid_cells.id"), index=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    floors: Mapped[int] = mapped_column(SmallInteger, default=1)
    # Parking of its own (a car park or underground garage); courtyard houses have none.
    has_parking: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class House(Base):
    """A dwelling (房屋): a flat in a building or the rooms of one household in a courtyard."""

    __tablename__ = "dc_houses"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    code: Mapped[str] = mapped_column(String(40))
    building_id: Mapped[int] = mapped_column(ForeignKey("dc_buildings.id"), index=True)
    unit: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(300))
    area_m2: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Person(Base):
    """A resident (人), recorded by the house they live in (以房管人)."""

    __tablename__ = "dc_people"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id_number"),
        Index("ix_dc_people_tenant_name", "tenant_id", "name"),
        Index("ix_dc_people_tenant_birth", "tenant_id", "birth_date"),
        Index("ix_dc_people_tenant_household", "tenant_id", "household_no"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(6))
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(20), default="")
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Household registration (户籍): local hukou of this sub-district or not, and its address.
    hukou_local: Mapped[bool] = mapped_column(Boolean, default=True)
    hukou_address: Mapped[str] = mapped_column(String(300), default="")
    house_id: Mapped[int | None] = mapped_column(ForeignKey("dc_houses.id"), nullable=True, index=True)
    household_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    relation_to_head: Mapped[str | None] = mapped_column(String(20), nullable=True)
    marital_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    disability_grade: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    disability_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    low_income_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # What the registry knows without a column of its own (CSV columns "attr.<name>").
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Vehicle(Base):
    """A resident-owned vehicle (物)."""

    __tablename__ = "dc_vehicles"
    __table_args__ = (UniqueConstraint("tenant_id", "plate"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    plate: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(ForeignKey("dc_people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="car")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ParkingSpace(Base):
    """Parking spaces in a grid cell: one marked space, a kerb segment or a whole car park."""

    __tablename__ = "dc_parking_spaces"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    code: Mapped[str] = mapped_column(String(40))
    grid_cell_id: Mapped[int] = mapped_column(ForeignKey("dc_grid_cells.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("dc_buildings.id"), nullable=True, index=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Organisation(Base):
    """An organisation (组织) with its unified social credit code."""

    __tablename__ = "dc_organisations"
    __table_args__ = (UniqueConstraint("tenant_id", "credit_code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    credit_code: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(300), default="")
    grid_cell_id: Mapped[int | None] = mapped_column(ForeignKey("dc_grid_cells.id"), nullable=True, index=True)
    legal_representative: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Certificate(Base):
    """A certificate in the certificate library (证照库): issued by a case or imported."""

    __tablename__ = "dc_certificates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "type", "number"),
        Index("ix_dc_certificates_holder", "tenant_id", "holder_id", "type"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    holder_id: Mapped[int] = mapped_column(ForeignKey("dc_people.id"))
    type: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="valid")
    issued_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    issuing_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    issued_by: Mapped[str] = mapped_column(String(100), default="")
    # What the certificate states besides its number (e.g. the disability grade and kind).
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


DATACENTRE_TABLES = tuple(
    m.__table__ for m in (GridCell, Building, House, Person, Vehicle, ParkingSpace, Organisation, Certificate)
)
