"""Indented JSON of plain values, byte for byte what ``json.dumps(indent=...)`` writes, faster.

The standard library's C encoder cannot indent, so every indented save of a metrics dict ran
the pure-Python generator encoder (about as long as the file's write). The usual artifact is
plain: dicts with str keys, lists, tuples, str, int, float, bool, None. Those are written
here in one recursive pass into a list; anything else (subclasses, numpy values, other key
types, NaN and infinities, deep or circular nesting) makes :func:`encode` return None, and
the caller runs ``json`` itself, which then gives its own result or its own error.
"""

from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any, Callable, Optional

_MAX_DEPTH = 64  # deeper (or circular) values go to json, which has the checks for them
_float_text = float.__repr__
_int_text = int.__repr__
_INFINITY = float("inf")


class _NotPlain(Exception):
    """The value holds something this encoder leaves to json."""


def encode(value: Any, indent: int | str, sort_keys: bool = False, ensure_ascii: bool = False) -> Optional[str]:
    """``json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii, allow_nan=False)``
    for plain values; None for any other value (encode it with json)."""
    step = " " * indent if isinstance(indent, int) else indent
    quote = encode_basestring_ascii if ensure_ascii else encode_basestring
    cls = value.__class__
    try:
        if cls is dict or cls is list or cls is tuple:
            return _container(value, cls, "\n", step, quote, sort_keys, 0)
        return _scalar(value, cls, quote)
    except (_NotPlain, ValueError, TypeError, RecursionError):
        return None  # json decides: its result, or its error (e.g. an int too long to print)


def _scalar(value: Any, cls: type, quote: Callable[[str], str]) -> str:
    if cls is str:
        return quote(value)
    if cls is float:
        if value != value or value == _INFINITY or value == -_INFINITY:
            raise _NotPlain  # json names the value in its error
        return _float_text(value)
    if cls is int:
        return _int_text(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise _NotPlain


def _container(value: Any, cls: type, pad: str, step: str, quote: Any, sort_keys: bool, depth: int) -> str:
    """The text of a dict, list or tuple; ``pad`` is the newline and indent of its closing line."""
    if depth > _MAX_DEPTH:
        raise _NotPlain
    inner = pad + step
    pieces: list[str] = []
    add = pieces.append
    if cls is dict:
        if not value:
            return "{}"
        items = sorted(value.items()) if sort_keys else value.items()
        for key, item in items:
            if key.__class__ is not str:
                raise _NotPlain  # json turns int, float, bool and None keys into strings its own way
            item_cls = item.__class__
            if item_cls is str:  # the usual values in line: a call per value shows on a metrics dict
                add(f"{quote(key)}: {quote(item)}")
            elif item_cls is float and item - item == 0.0:  # finite (NaN and infinities: _scalar)
                add(f"{quote(key)}: {_float_text(item)}")
            elif item_cls is int:
                add(f"{quote(key)}: {_int_text(item)}")
            elif item_cls is dict or item_cls is list or item_cls is tuple:
                add(f"{quote(key)}: {_container(item, item_cls, inner, step, quote, sort_keys, depth + 1)}")
            else:
                add(f"{quote(key)}: {_scalar(item, item_cls, quote)}")
        return f"{{{inner}{(',' + inner).join(pieces)}{pad}}}"
    if not value:
        return "[]"
    for item in value:  # the usual items in line too: a list of per-epoch losses makes a call per item
        item_cls = item.__class__
        if item_cls is float and item - item == 0.0:
            add(_float_text(item))
        elif item_cls is str:
            add(quote(item))
        elif item_cls is int:
            add(_int_text(item))
        elif item_cls is dict or item_cls is list or item_cls is tuple:
            add(_container(item, item_cls, inner, step, quote, sort_keys, depth + 1))
        else:
            add(_scalar(item, item_cls, quote))
    return f"[{inner}{(',' + inner).join(pieces)}{pad}]"
