"""A fast path for loading valid input with a marshmallow schema of strings, objects and lists.

marshmallow's ``load`` costs about 75 µs a message here, most of the collector's time per message.
Almost every message is valid, so this checks the schema's own declarations (types, ``Length``,
``OneOf``, plain validator functions, ``allow_none``, ``required``, schema validators) directly,
and hands anything it does not pass to ``schema.load``, which raises the usual error messages.
The schema stays the one description of the wire format: the checks are read from it, not
written again, and a test holds the two paths to the same answers.
"""

from marshmallow import Schema, ValidationError, fields, validate


class _Fallback(Exception):
    """The fast path cannot vouch for this input: let marshmallow decide."""


def _value_checks(field: fields.Field) -> list:
    checks = []
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.min is None and validator.equal is None:
            limit = validator.max
            checks.append(lambda value, limit=limit: len(value) <= limit)
        elif isinstance(validator, validate.OneOf):
            choices = frozenset(validator.choices)
            checks.append(lambda value, choices=choices: value in choices)
        elif isinstance(validator, validate.Length):
            checks.append(lambda value, v=validator: v.min <= len(value) if v.min is not None else False)
            limit = validator.max
            if limit is not None:
                checks.append(lambda value, limit=limit: len(value) <= limit)
        elif callable(validator) and not isinstance(validator, validate.Validator):
            checks.append(_passes(validator))
        else:
            raise TypeError(f"fastload does not know the validator {validator!r}")
    return checks


def _passes(function):
    def check(value) -> bool:
        try:
            return function(value) is not False
        except ValidationError:
            return False

    return check


def _max_length_only(field: fields.Field) -> int | None:
    """N when the field's one validator is Length(max=N), the common case: checked inline, without a call."""
    validators = field.validators
    if len(validators) == 1 and isinstance(validators[0], validate.Length):
        length = validators[0]
        if length.min is None and length.equal is None and length.max is not None:
            return length.max
    return None


def _kind(field: fields.Field):
    """A function that returns the loaded value or raises _Fallback."""
    checks = _value_checks(field)
    if isinstance(field, fields.String):
        limit = _max_length_only(field)
        if limit is not None:
            def loaded(value):
                if type(value) is not str or len(value) > limit:
                    raise _Fallback
                return value

            return loaded

        def load(value):
            if type(value) is not str:
                raise _Fallback
            return value
    elif isinstance(field, fields.Dict):
        if field.value_field is not None:
            raise TypeError("fastload takes Dict fields without a value field")
        key_checks = _value_checks(field.key_field) if field.key_field is not None else []
        key_limit = _max_length_only(field.key_field) if field.key_field is not None else None
        if key_limit is not None:  # checked inline below instead
            key_checks = []

        def load(value):
            if type(value) is not dict:
                raise _Fallback
            for key in value:
                if type(key) is not str or (key_limit is not None and len(key) > key_limit) or (
                        key_checks and not all(check(key) for check in key_checks)):
                    raise _Fallback
            return value
    elif isinstance(field, fields.List) and isinstance(field.inner, fields.Dict) and field.inner.key_field is None:
        def load(value):
            if type(value) is not list or not all(type(item) is dict for item in value):
                raise _Fallback
            return value
    else:
        raise TypeError(f"fastload does not know the field {field!r}")

    if not checks:
        return load

    def loaded(value):
        value = load(value)
        for check in checks:
            if not check(value):
                raise _Fallback
        return value

    return loaded


class FastLoader:
    def __init__(self, schema: Schema, whole=()):
        """``whole``: the schema's own ``validates_schema`` checks as plain functions of the data."""
        self.schema = schema
        self.whole = tuple(whole)
        self.fields = [(name, field.required, field.allow_none, _kind(field))
                       for name, field in schema.fields.items()
                       if not field.dump_only and field.data_key is None and field.attribute is None]

    def load(self, data) -> dict:
        try:
            return self._fast(data)
        except _Fallback:
            return self.schema.load(data)  # raises ValidationError with marshmallow's messages

    def _fast(self, data) -> dict:
        if type(data) is not dict:
            raise _Fallback
        out = {}
        for name, required, allow_none, load in self.fields:
            if name not in data:
                if required:
                    raise _Fallback
                continue
            value = data[name]
            if value is None:
                if not allow_none:
                    raise _Fallback
                out[name] = None
                continue
            out[name] = load(value)
        for check in self.whole:
            try:
                check(out)
            except ValidationError:
                raise _Fallback from None
        return out
