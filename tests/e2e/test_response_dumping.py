"""Response schemas (server.api.dumping) dump exactly what marshmallow's own way dumps: on
generated objects for every schema of the API that uses them, and on real answers."""
from __future__ import annotations

import inspect
import random
from datetime import datetime, timedelta, timezone

import marshmallow
import pytest
from flask import Flask
from marshmallow import fields

from server.api import dumping, schemas, task_schemas
from tests.helpers import Api, demo_files, make_users


def fast_schemas():
    found = {}
    for module in (schemas, task_schemas):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, dumping.Schema) and cls is not dumping.Schema:
                found[cls.__name__] = cls
    return sorted(found.values(), key=lambda c: c.__name__)


def sample_value(field: fields.Field, rng: random.Random, depth: int):
    """A value of the field's type, or one of another type, or None."""
    roll = rng.random()
    if roll < 0.15:
        return None
    if roll < 0.3:  # another type than the field's: marshmallow converts (or raises) the same way
        return rng.choice([7, "7", True, False, 0, "", 2.5])
    if isinstance(field, fields.Nested):
        nested = field.schema
        return [sample_object(nested, rng, depth + 1) for _ in range(rng.randint(0, 3))] if field.many or nested.many \
            else sample_object(nested, rng, depth + 1)
    if isinstance(field, fields.List):
        return [sample_value(field.inner, rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if isinstance(field, fields.DateTime):
        return datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randint(0, 10**8))
    if isinstance(field, fields.Dict):
        return {"a": rng.randint(0, 9), "b": [1, "x"], "c": None}
    if isinstance(field, fields.Boolean):
        return rng.choice([True, False, 1, 0, "true"])
    if isinstance(field, fields.Integer):
        return rng.choice([0, 1, -5, 2**40, True])
    return rng.choice(["", "text", "会签", "a.b"])


def sample_object(schema: marshmallow.Schema, rng: random.Random, depth: int = 0):
    obj = {}
    for attr, field in schema.dump_fields.items():
        if rng.random() < 0.1 or depth > 3:
            continue  # missing: marshmallow's default and attribute fallback
        obj[field.attribute or attr] = sample_value(field, rng, depth)
    obj["extra"] = "not in the schema"
    return obj


def dump_both_ways(schema, obj, many=False):
    def dump():
        try:
            return ("dumped", schema.dump(obj, many=many))
        except Exception as exc:  # noqa: BLE001 - the same failure both ways is the same behaviour
            return ("raised", type(exc))

    fast = dump()
    dumping.ENABLED = False
    try:
        slow = dump()
    finally:
        dumping.ENABLED = True
    return fast, slow


@pytest.mark.parametrize("schema_class", fast_schemas(), ids=lambda c: c.__name__)
def test_every_response_schema_dumps_as_marshmallow_does(schema_class):
    rng = random.Random(schema_class.__name__)
    schema = schema_class()
    bare = Flask(__name__)
    bare.config["REDWALL_TIMEZONE"] = "Asia/Shanghai"  # LocalDateTime reads it
    with bare.app_context():
        for _ in range(60):
            obj = sample_object(schema, rng)
            fast, slow = dump_both_ways(schema, obj)
            assert fast == slow, (obj, fast, slow)
        objs = [sample_object(schema, rng) for _ in range(3)]
        assert dump_both_ways(schema, objs, many=True)[0] == dump_both_ways(schema, objs, many=True)[1]
        assert dump_both_ways(schema, None)[0] == dump_both_ways(schema, None)[1]


def test_a_case_and_its_tasks_answer_the_same_both_ways(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    assert api.deploy("designer1", demo_files()).status_code == 201
    r = api.post("/api/process-models/service_application/instances", "intake1", json={"data": {"name": "王"}})
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["id"]
    task_id = r.get_json()["tasks"][0]["id"]
    assert api.post(f"/api/tasks/{task_id}/claim", "intake1").status_code == 200
    urls = ["/api/tasks?scope=mine", f"/api/tasks/{task_id}", f"/api/cases/{case_id}", "/api/tasks/counts"]
    fast = [api.get(url, "intake1") for url in urls]
    dumping.ENABLED = False
    try:
        slow = [api.get(url, "intake1") for url in urls]
    finally:
        dumping.ENABLED = True
    for url, a, b in zip(urls, fast, slow):
        assert a.status_code == 200, (url, a.get_json())
        assert a.get_data() == b.get_data(), url
    assert fast[0].get_json()["items"] and fast[2].get_json()["tasks"]
