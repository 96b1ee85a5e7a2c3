"""Response schemas that dump plain dicts without marshmallow's per-field lookup chain.

marshmallow dumps each field through ``Field.serialize`` → ``get_value`` → the schema's
``get_attribute`` → ``utils.get_value`` → ``obj[key]``, then the field's ``_serialize``: about
2-3 µs a field, 50-100 µs for a case with its tasks. Our use cases answer plain dicts, so
:class:`Schema` reads each key of such a dict once and hands the value to the same field's own
``_serialize``; a value a String, Integer or Boolean field would return unchanged (``None``, a
``str``, an ``int``, a ``bool`` respectively) is taken as it is. Everything else goes the
way marshmallow goes: an object that is not exactly a ``dict``, a key the dict lacks (defaults,
attribute fallbacks), fields with their own ``serialize`` or no attribute to check, and schemas
with dump hooks or their own attribute access. The result is the same (tests compare both ways
on every response schema of the API).
"""
from __future__ import annotations

import marshmallow
from marshmallow import fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import missing

#: False: every dump goes marshmallow's own way (tests compare the two).
ENABLED = True

_UNCHANGED = {fields.String: str, fields.Integer: int, fields.Boolean: bool}


def _step(attr: str, field: fields.Field):
    """(attr, key in the result, key in the dict or None for marshmallow's way, field, type kept as is)."""
    key = field.data_key if field.data_key is not None else attr
    lookup = attr if field.attribute is None else field.attribute
    own_way = (type(field).serialize is not fields.Field.serialize or not field._CHECK_ATTRIBUTE
               or not isinstance(lookup, str) or "." in lookup)
    kept = _UNCHANGED.get(type(field))
    if kept is int and field.as_string:
        kept = None
    return attr, key, None if own_way else lookup, field, kept


class Schema(marshmallow.Schema):
    def _dump_plan(self):
        plan = self.__dict__.get("_plan")
        if plan is None:
            cls = type(self)
            usable = (not self._hooks[PRE_DUMP] and not self._hooks[POST_DUMP] and self.dict_class is dict
                      and cls.get_attribute is marshmallow.Schema.get_attribute)
            plan = self._plan = [_step(attr, field) for attr, field in self.dump_fields.items()] if usable else False
        return plan

    def _serialize(self, obj, *, many: bool = False):
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        plan = self._dump_plan() if ENABLED and type(obj) is dict else False
        if not plan:
            return super()._serialize(obj, many=False)
        result = {}
        for attr, key, lookup, field, kept in plan:
            value = missing if lookup is None else obj.get(lookup, missing)
            if value is missing:
                value = field.serialize(attr, obj, accessor=self.get_attribute)
                if value is missing:
                    continue
            elif kept is None or (value is not None and type(value) is not kept):
                value = field._serialize(value, attr, obj)
            result[key] = value
        return result
