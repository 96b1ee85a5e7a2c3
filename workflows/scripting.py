"""A restricted script engine for the Python that deployed BPMN models carry.

Script tasks, pre/post scripts, gateway conditions, timer expressions, multi-instance
collections and DMN cells are written by process designers and uploaded with the model.
They run here, never as arbitrary Python.

How
---
Our own AST whitelist plus a small AST rewrite, in this module; no extra dependency.
RestrictedPython was considered: it is well kept and supports Python 3.11, but it
secures attribute/item access through guard callbacks (``_getattr_``, ``_getitem_``,
``_write_``, ``_getiter_``, ...) that the host must supply, it gives no time or memory
bounds, so we would have to rewrite the tree for those anyway, and its per-access guard
calls slow down the hot path (gateway conditions like ``amount > 100`` evaluated many
thousands of times). The rule set needed here is short enough to read in one sitting:

* Every source is parsed once and checked against a whitelist of AST node types, then
  compiled; the result is cached by source text (bounded LRU). A rule broken raises
  :class:`ScriptRejected` naming the rule and line, before anything runs.
* Forbidden: ``import``, ``global``/``nonlocal``, ``class``, ``with``, ``yield``,
  ``async``/``await``, ``match``, ``try ... finally``, bare ``except:``, annotated
  assignments; any name, attribute, parameter or keyword starting with ``_`` (a lone
  ``_`` is allowed as a throwaway loop variable); frame/code/generator internals
  (``gi_*``, ``f_*``, ``tb_*``, ``co_*``, ``cr_*``, ``ag_*``), ``mro`` and ``str.format``
  (format strings can reach attributes by name; use f-strings), ``int.to_bytes``,
  ``str.translate/expandtabs``; calling ``exec``,
  ``eval``, ``compile``, ``open``, ``getattr`` & co. None of those builtins is
  reachable anyway: scripts see only :data:`SAFE_BUILTINS` plus the host's helpers.
* Time: a call to a private tick function is inserted at the top of every loop body,
  every comprehension step, every ``def`` and every ``lambda``; past the deadline it
  raises. This works in any thread and leaves ``sys.settrace`` (coverage, debuggers)
  alone. (A trace function is not enough: on CPython 3.11 ``while True: pass`` emits no
  line events at all.) Pure expressions without comprehensions or lambdas cannot loop,
  so they carry no tick and run with the plain ``eval`` cost. The internal exceptions
  are ``BaseException`` subclasses, and bare ``except:``/``finally`` are forbidden, so
  a script cannot swallow its own time-out.
* Size: C-level work cannot be interrupted, so the operations that can build huge
  values in one step are guarded: ``range()`` is capped at :data:`MAX_RANGE` items;
  ``+``, ``*``, ``**``, ``<<`` and ``%`` (also as ``+=`` ...) go through guard functions
  that refuse sequences longer than :data:`MAX_SEQUENCE` or integers wider than
  :data:`MAX_INT_BITS` bits, and ``%``-formats or f-string format specs with huge
  widths; ``str.join/replace/ljust/rjust/center/zfill`` and ``list.extend`` are checked
  before they run; ``sum()`` adds numbers (and timedeltas), not lists; ``round()``
  takes at most 1,000 digits. Constant
  sub-expressions are folded at compile time through the same guards, so
  ``'a' * 10**10`` is rejected before the script runs.
* Output: after a script, the (estimated) JSON size of the task data must stay within
  ``max_output_bytes``; the estimate stops walking as soon as it passes the limit, so a
  blow-up through shared references (``[[x] * 1000] * 1000``) cannot stall the check.
  The task data is only updated when the script succeeded: a failing script leaves the
  top-level variables as they were (objects it mutated in place stay mutated).

Limits that hold inside C code too: with a pool (:mod:`workflows.sandbox`, the server's
default), every script and every non-trivial expression runs in a worker process under
``RLIMIT_AS`` and ``RLIMIT_CPU`` that is killed and replaced at the deadline, so builtins that run
in C over existing values (``max(map(min, refs))``) and memory blow-ups are bounded as well.
Without a pool (``REDWALL_SCRIPT_WORKERS=0``, tools, these unit tests) only the checks above apply.
"""
from __future__ import annotations

import ast
import builtins as _builtins
import copy
import datetime as _dt
import functools
import json
import re
import time
import traceback
from typing import Any, Callable

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

__all__ = [
    "RestrictedEnvironment",
    "RestrictedScriptEngine",
    "SAFE_BUILTINS",
    "ScriptRejected",
    "ScriptTimeout",
    "ServiceCallError",
]

#: File name given to compiled scripts; tracebacks use it to find the script's lines.
SCRIPT_FILENAME = "<bpmn-script>"
#: Longest script or expression accepted, in characters.
MAX_SOURCE_CHARS = 200_000
#: Most items a single ``range()`` may produce.
MAX_RANGE = 1_000_000
#: Most items (characters for strings) one guarded operation may produce.
MAX_SEQUENCE = 10_000_000
#: Widest integer one guarded operation may produce.
MAX_INT_BITS = 100_000
#: Largest width or precision in a ``%``-format or f-string format spec.
MAX_FORMAT_WIDTH = 10_000
#: How many compiled sources are cached.
CACHE_SIZE = 4096


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------
class ScriptRejected(Exception):
    """A script or expression broke a rule; ``reason`` says which, ``line`` where."""

    def __init__(self, reason: str, line: int | None = None):
        self.reason = reason
        self.line = line
        super().__init__(f"{reason} (line {line})" if line else reason)


class ScriptTimeout(Exception):
    """A script or expression ran longer than its time budget."""

    def __init__(self, limit: float, line: int | None = None, what: str = "script"):
        self.limit = limit
        self.line = line
        self.what = what
        message = f"{what} ran longer than its time limit of {limit:g} s"
        super().__init__(f"{message} (line {line})" if line else message)


class ScriptFailed(Exception):
    """A script's own error, as reported by a worker process (``name`` is its type, e.g. KeyError)."""

    def __init__(self, name: str, text: str, line: int | None = None):
        self.name, self.text, self.line = name, text, line
        super().__init__(f"{name}: {text}" if text else name)


class ServiceCallError(Exception):
    """A service task could not be run (no service caller, or a result that is not JSON)."""


class _Violation(BaseException):
    """Raised by run-time guards; BaseException so that ``except Exception`` can't eat it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Deadline(BaseException):
    """Raised by the tick once the time budget is spent."""


# ---------------------------------------------------------------------------------------
# Run-time guards (referenced by rewritten code under names scripts cannot spell)
# ---------------------------------------------------------------------------------------
_SIZED = (str, bytes, bytearray, list, tuple)
_CONTAINERS = (str, bytes, bytearray, list, tuple, dict, set, frozenset)
_TEXT = (str, bytes, bytearray)


def _check_repeat(seq, times) -> None:
    if times <= 1:
        return
    total = len(seq) * times
    if total > MAX_SEQUENCE:
        raise _Violation(f"repetition would create {total:,} items (limit {MAX_SEQUENCE:,})")
    if isinstance(seq, (list, tuple)):
        # Repeating a list of lists repeats references: count what the items hold too.
        weight = len(seq)
        for item in seq:
            if isinstance(item, _CONTAINERS):
                weight += len(item)
        if weight * times > MAX_SEQUENCE:
            raise _Violation(f"repetition would create about {weight * times:,} items (limit {MAX_SEQUENCE:,})")


def _check_int_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise _Violation(f"{what} would create a number of about {bits:,} bits (limit {MAX_INT_BITS:,})")


def _check_add(a, b) -> None:
    if isinstance(a, _SIZED) and isinstance(b, _SIZED):
        total = len(a) + len(b)
        if total > MAX_SEQUENCE:
            raise _Violation(f"concatenation would create {total:,} items (limit {MAX_SEQUENCE:,})")


def _check_mul(a, b) -> None:
    if isinstance(a, int):
        if isinstance(b, int):
            _check_int_bits(a.bit_length() + b.bit_length(), "multiplication")
        elif isinstance(b, _SIZED):
            _check_repeat(b, a)
    elif isinstance(b, int) and isinstance(a, _SIZED):
        _check_repeat(a, b)


def _check_pow(a, b) -> None:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a not in (0, 1, -1):
        if b > MAX_INT_BITS:
            _check_int_bits(b, "power")
        _check_int_bits(a.bit_length() * b, "power")


def _check_lshift(a, b) -> None:
    if isinstance(a, int) and isinstance(b, int) and a != 0 and b > 0:
        _check_int_bits(a.bit_length() + b, "shift")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


@functools.lru_cache(maxsize=1024)
def _percent_format_problem(fmt) -> str | None:
    text = fmt.decode("latin-1") if isinstance(fmt, (bytes, bytearray)) else fmt
    for match in _PERCENT_SPEC.finditer(text):
        for part in match.groups():
            if part == "*":
                return "'*' widths in %-formatting are not allowed"
            if part and int(part) > MAX_FORMAT_WIDTH:
                return f"%-format width {int(part):,} is too large (limit {MAX_FORMAT_WIDTH:,})"
    return None


def _check_mod(a, b) -> None:
    if isinstance(a, _TEXT):
        problem = _percent_format_problem(bytes(a) if isinstance(a, bytearray) else a)
        if problem:
            raise _Violation(problem)


def _g_add(a, b):
    _check_add(a, b)
    return a + b


def _g_mul(a, b):
    _check_mul(a, b)
    return a * b


def _g_pow(a, b):
    _check_pow(a, b)
    return a**b


def _g_lshift(a, b):
    _check_lshift(a, b)
    return a << b


def _g_mod(a, b):
    _check_mod(a, b)
    return a % b


def _g_iadd(a, b):
    _check_add(a, b)
    a += b  # in place for lists, as in the original ``a += b``
    return a


def _g_imul(a, b):
    _check_mul(a, b)
    a *= b
    return a


def _g_ipow(a, b):
    _check_pow(a, b)
    a **= b
    return a


def _g_ilshift(a, b):
    _check_lshift(a, b)
    a <<= b
    return a


def _g_imod(a, b):
    _check_mod(a, b)
    a %= b
    return a


def _width_arg(args, kwargs, name):
    width = args[0] if args else kwargs.get("width")
    if isinstance(width, int) and width > MAX_SEQUENCE:
        raise _Violation(f".{name}() width {width:,} is too large (limit {MAX_SEQUENCE:,})")


def _g_method(obj, name, *args, **kwargs):
    """Calls ``obj.<name>(...)`` for the methods that can build huge values in one step."""
    if isinstance(obj, type):
        raise _Violation(f"call .{name}() on a value, not on the type {obj.__name__}")
    if isinstance(obj, _TEXT):
        if name == "join" and args:
            items = list(args[0])
            total = len(obj) * max(len(items) - 1, 0)
            for item in items:
                if isinstance(item, _SIZED):
                    total += len(item)
            if total > MAX_SEQUENCE:
                raise _Violation(f".join() would create {total:,} characters (limit {MAX_SEQUENCE:,})")
            return obj.join(items)
        if name == "replace" and len(args) >= 2:
            old, new = args[0], args[1]
            if isinstance(old, _TEXT) and isinstance(new, _TEXT):
                count = obj.count(old) if len(old) else len(obj) + 1
                if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                    count = min(count, args[2])
                total = len(obj) + count * (len(new) - len(old))
                if total > MAX_SEQUENCE:
                    raise _Violation(f".replace() would create {total:,} characters (limit {MAX_SEQUENCE:,})")
        elif name in ("ljust", "rjust", "center", "zfill"):
            _width_arg(args, kwargs, name)
    elif name == "extend" and isinstance(obj, list) and args and hasattr(args[0], "__len__"):
        total = len(obj) + len(args[0])
        if total > MAX_SEQUENCE:
            raise _Violation(f".extend() would create {total:,} items (limit {MAX_SEQUENCE:,})")
    return getattr(obj, name)(*args, **kwargs)


def _make_tick(deadline: float) -> Callable[[], bool]:
    monotonic = time.monotonic

    def tick() -> bool:
        if monotonic() > deadline:
            raise _Deadline()
        return True

    return tick


_BINOP_GUARDS = {
    ast.Add: "_rw_add", ast.Mult: "_rw_mul", ast.Pow: "_rw_pow", ast.LShift: "_rw_lshift", ast.Mod: "_rw_mod",
}
_AUG_GUARDS = {
    ast.Add: "_rw_iadd", ast.Mult: "_rw_imul", ast.Pow: "_rw_ipow", ast.LShift: "_rw_ilshift", ast.Mod: "_rw_imod",
}
_GUARD_FUNCTIONS: dict[str, Callable] = {
    "_rw_add": _g_add,
    "_rw_mul": _g_mul,
    "_rw_pow": _g_pow,
    "_rw_lshift": _g_lshift,
    "_rw_mod": _g_mod,
    "_rw_iadd": _g_iadd,
    "_rw_imul": _g_imul,
    "_rw_ipow": _g_ipow,
    "_rw_ilshift": _g_ilshift,
    "_rw_imod": _g_imod,
    "_rw_method": _g_method,
}
_TICK = "_rw_tick"
_RESERVED_GLOBALS = frozenset(_GUARD_FUNCTIONS) | {_TICK, "__builtins__"}


# ---------------------------------------------------------------------------------------
# Builtins scripts may use
# ---------------------------------------------------------------------------------------
def _safe_range(*args):
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = None
    if n is None or n > MAX_RANGE:
        size = "too many" if n is None else f"{n:,}"
        raise _Violation(f"range() would produce {size} numbers (limit {MAX_RANGE:,})")
    return r


def _safe_sum(iterable, /, start=0):
    if isinstance(start, _SIZED):
        raise _Violation("sum() adds numbers only; join lists with a comprehension instead")
    return sum(iterable, start)


def _safe_round(number, ndigits=None):
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, int) and abs(ndigits) > 1000:
        # round(5, -10**9) would compute 10**(10**9) in C
        raise _Violation(f"round() to {ndigits:,} digits is not allowed (limit 1,000)")
    return round(number, ndigits)


def _safe_pow(base, exp, mod=None):
    if mod is not None:
        return pow(base, exp, mod)
    _check_pow(base, exp)
    return pow(base, exp)


#: Modules that C code run by scripts imports for itself (``date.today()`` and
#: ``strftime`` need ``time``, ``strptime`` needs ``_strptime``). CPython resolves such
#: imports through ``__import__`` in the *calling* frame's builtins, so the sandbox
#: provides one that serves only these. Scripts cannot name it (``_`` rule).
_INTERNAL_IMPORTS = frozenset({"time", "_strptime"})


def _internal_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name in _INTERNAL_IMPORTS:
        return _builtins.__import__(name, globals, locals, fromlist, level)
    raise ImportError(f"module {name!r} is not available to scripts")


def _print_nowhere(*args, **kwargs) -> None:
    """``print`` for scripts: models written for SpiffWorkflow print while they run (its own test
    models do); a server has no console for them, so the call is allowed and writes nothing."""


#: What scripts see as builtins (the host's helpers are added per engine).
SAFE_BUILTINS: dict[str, Any] = {
    **{
        name: getattr(_builtins, name)
        for name in (
            "abs all any bool chr dict divmod enumerate filter float frozenset int isinstance "
            "len list map max min next ord repr reversed set sorted str tuple zip "
            "ArithmeticError AssertionError Exception IndexError KeyError LookupError "
            "TypeError ValueError ZeroDivisionError"
        ).split()
    },
    "True": True,
    "False": False,
    "None": None,
    "range": _safe_range,
    "sum": _safe_sum,
    "pow": _safe_pow,
    "round": _safe_round,
    "datetime": _dt.datetime,
    "date": _dt.date,
    "timedelta": _dt.timedelta,
    "timezone": _dt.timezone,
    "__import__": _internal_import,
    "print": _print_nowhere,
}

#: Never callable from scripts, whatever the data or helpers hold.
FORBIDDEN_CALLS = frozenset(
    "exec eval compile open getattr setattr delattr hasattr globals locals vars input "
    "breakpoint help memoryview type super object classmethod staticmethod property "
    "iter format exit quit __import__".split()
)
_DENIED_ATTRIBUTES = frozenset(
    {"format", "format_map", "mro", "translate", "maketrans", "expandtabs", "to_bytes"}
)
_DENIED_ATTRIBUTE_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_")
_GUARDED_METHODS = frozenset({"join", "replace", "ljust", "rjust", "center", "zfill", "extend"})


# ---------------------------------------------------------------------------------------
# Checking and rewriting the tree
# ---------------------------------------------------------------------------------------
_ALLOWED_NODES = frozenset(
    {
        ast.Module, ast.Expression,
        # statements
        ast.FunctionDef, ast.Return, ast.Delete, ast.Assign, ast.AugAssign, ast.For, ast.While,
        ast.If, ast.Raise, ast.Try, ast.Assert, ast.Expr, ast.Pass, ast.Break, ast.Continue,
        # expressions
        ast.BoolOp, ast.NamedExpr, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict,
        ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare,
        ast.Call, ast.FormattedValue, ast.JoinedStr, ast.Constant, ast.Attribute,
        ast.Subscript, ast.Starred, ast.Name, ast.List, ast.Tuple, ast.Slice,
        # helpers
        ast.Load, ast.Store, ast.Del, ast.comprehension, ast.ExceptHandler, ast.arguments,
        ast.arg, ast.keyword,
        # operators
        ast.And, ast.Or, ast.Add, ast.Sub, ast.Mult, ast.MatMult, ast.Div, ast.Mod, ast.Pow,
        ast.LShift, ast.RShift, ast.BitOr, ast.BitXor, ast.BitAnd, ast.FloorDiv, ast.Invert,
        ast.Not, ast.UAdd, ast.USub, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
        ast.Is, ast.IsNot, ast.In, ast.NotIn,
    }
)

_NODE_REASONS = {
    "Import": "imports are not allowed",
    "ImportFrom": "imports are not allowed",
    "Global": "'global' is not allowed",
    "Nonlocal": "'nonlocal' is not allowed",
    "ClassDef": "class definitions are not allowed",
    "With": "'with' statements are not allowed",
    "AsyncWith": "async code is not allowed",
    "AsyncFor": "async code is not allowed",
    "AsyncFunctionDef": "async code is not allowed",
    "Await": "async code is not allowed",
    "Yield": "generators ('yield') are not allowed",
    "YieldFrom": "generators ('yield') are not allowed",
    "Match": "'match' statements are not allowed",
    "TryStar": "'except*' is not allowed",
    "AnnAssign": "annotated assignments are not allowed",
}


class _Compiled:
    __slots__ = ("code", "simple", "guard_names", "trivial")

    def __init__(self, code, simple: bool, guard_names: tuple[str, ...], trivial: bool = False):
        self.code = code
        self.simple = simple  # an expression that needs no tick and writes nothing
        self.guard_names = guard_names
        # Only names, constants, comparisons, and/or/not, attribute and item reads: cannot do
        # heavy work, so it runs in the calling process (see workflows.sandbox).
        self.trivial = trivial


_TRIVIAL_NODES = (
    ast.Expression, ast.Name, ast.Load, ast.Constant, ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp,
    ast.Not, ast.USub, ast.UAdd, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is,
    ast.IsNot, ast.Attribute, ast.Subscript, ast.Tuple,
)


def _is_trivial(tree) -> bool:
    return all(isinstance(node, _TRIVIAL_NODES) for node in ast.walk(tree))


def _tick_call() -> ast.Call:
    return ast.Call(func=ast.Name(id=_TICK, ctx=ast.Load()), args=[], keywords=[])


def _fold_safe(value) -> bool:
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return value.bit_length() <= 4096
    if isinstance(value, (float, complex)):
        return True
    if isinstance(value, (str, bytes)):
        return len(value) <= 4096
    return False


class _Rewriter(ast.NodeTransformer):
    """Checks each node against the rules, then rewrites it for guards and ticks."""

    def __init__(self):
        self.line: int | None = None
        self.ticks = False
        self.writes = False
        self.guards: set[str] = set()

    def reject(self, reason: str, node: ast.AST | None = None):
        raise ScriptRejected(reason, getattr(node, "lineno", None) or self.line)

    # -- checking ---------------------------------------------------------------------
    def visit(self, node):
        saved = self.line
        self.line = getattr(node, "lineno", None) or self.line
        try:
            self.check(node)
            return super().visit(node)
        finally:
            self.line = saved

    def check_name(self, name: str | None, what: str, node):
        if name and name.startswith("_") and name != "_":
            self.reject(f"{what} starting with '_' are not allowed ({name!r})", node)

    def check(self, node):
        kind = type(node)
        if kind not in _ALLOWED_NODES:
            name = kind.__name__
            self.reject(_NODE_REASONS.get(name, f"{name} is not allowed"), node)
        if kind is ast.Name:
            self.check_name(node.id, "names", node)
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                self.writes = True
        elif kind is ast.Attribute:
            attr = node.attr
            if attr.startswith("_"):
                self.reject(f"attributes starting with '_' are not allowed ('.{attr}')", node)
            if attr in _DENIED_ATTRIBUTES or attr.startswith(_DENIED_ATTRIBUTE_PREFIXES):
                hint = "; use an f-string" if attr in ("format", "format_map") else ""
                self.reject(f"the attribute '.{attr}' is not allowed{hint}", node)
        elif kind is ast.FunctionDef:
            self.check_name(node.name, "names", node)
        elif kind is ast.arg:
            self.check_name(node.arg, "parameter names", node)
        elif kind is ast.keyword:
            self.check_name(node.arg, "keyword names", node)
        elif kind is ast.ExceptHandler:
            if node.type is None:
                self.reject("a bare 'except:' is not allowed; name the exception, e.g. 'except ValueError:'", node)
            self.check_name(node.name, "names", node)
        elif kind is ast.Try:
            if node.finalbody:
                self.reject("'finally' blocks are not allowed", node)
        elif kind is ast.Call:
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                self.reject(f"calling '{func.id}' is not allowed", node)
        elif kind is ast.FormattedValue and node.format_spec is not None:
            self.check_format_spec(node.format_spec, node)
        elif kind is ast.NamedExpr:
            self.writes = True

    def check_format_spec(self, spec, node):
        parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
        for part in parts:
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                self.reject("computed format specifications in f-strings are not allowed", node)
            for digits in re.findall(r"\d+", part.value):
                if int(digits) > MAX_FORMAT_WIDTH:
                    self.reject(f"format width {int(digits):,} is too large (limit {MAX_FORMAT_WIDTH:,})", node)

    # -- rewriting --------------------------------------------------------------------
    def guard_call(self, name: str, args: list, node) -> ast.Call:
        self.guards.add(name)
        return ast.copy_location(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[]), node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        left, right = node.left, node.right
        if isinstance(left, ast.Constant) and isinstance(right, ast.Constant):
            try:
                value = _GUARD_FUNCTIONS[guard](left.value, right.value)
            except _Violation as exc:
                self.reject(exc.reason, node)
            except Exception:  # e.g. 1 % 0: let it fail at run time, as Python would
                pass
            else:
                if _fold_safe(value):
                    return ast.copy_location(ast.Constant(value=value), node)
        return self.guard_call(guard, [left, right], node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        operand = node.operand
        if (
            isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(operand, ast.Constant)
            and type(operand.value) in (int, float)
        ):
            value = -operand.value if isinstance(node.op, ast.USub) else operand.value
            return ast.copy_location(ast.Constant(value=value), node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        guard = _AUG_GUARDS.get(type(node.op))
        if guard is None:
            return node
        current = copy.deepcopy(node.target)
        current.ctx = ast.Load()
        value = self.guard_call(guard, [current, node.value], node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _GUARDED_METHODS:
            obj = self.visit(func.value)
            args = [self.visit(arg) for arg in node.args]
            keywords = [self.visit(kw) for kw in node.keywords]
            self.guards.add("_rw_method")
            call = ast.Call(
                func=ast.Name(id="_rw_method", ctx=ast.Load()),
                args=[obj, ast.Constant(value=func.attr), *args],
                keywords=keywords,
            )
            return ast.copy_location(call, node)
        return self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in _GUARDED_METHODS:
            self.reject(f"'.{node.attr}' may only be called directly, as in x.{node.attr}(...)", node)
        return self.generic_visit(node)

    def visit_comprehension(self, node):
        self.generic_visit(node)
        self.ticks = True
        node.ifs.append(_tick_call())
        return node

    def _tick_body(self, node):
        self.generic_visit(node)
        self.ticks = True
        node.body.insert(0, ast.copy_location(ast.Expr(value=_tick_call()), node))
        return node

    visit_While = visit_For = visit_FunctionDef = _tick_body

    def visit_Lambda(self, node):
        self.generic_visit(node)
        self.ticks = True
        node.body = ast.BoolOp(op=ast.And(), values=[_tick_call(), node.body])
        return node


def _compile(source: str, mode: str) -> _Compiled:
    if not isinstance(source, str):
        raise ScriptRejected(f"a script must be text, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_CHARS:
        raise ScriptRejected(f"the script is too long ({len(source):,} characters; limit {MAX_SOURCE_CHARS:,})")
    if mode == "eval":
        source = source.strip()  # eval() itself forgives leading blanks
    try:
        tree = ast.parse(source, filename=SCRIPT_FILENAME, mode=mode)
        trivial = mode == "eval" and _is_trivial(tree)
        rewriter = _Rewriter()
        tree = rewriter.visit(tree)
        ast.fix_missing_locations(tree)
        code = compile(tree, SCRIPT_FILENAME, mode)
    except (RecursionError, MemoryError):
        raise ScriptRejected("the script is nested too deeply") from None
    simple = mode == "eval" and not rewriter.ticks and not rewriter.writes
    return _Compiled(code, simple, tuple(sorted(rewriter.guards)), trivial)


_compile_eval = functools.lru_cache(maxsize=CACHE_SIZE)(functools.partial(_compile, mode="eval"))
_compile_exec = functools.lru_cache(maxsize=CACHE_SIZE)(functools.partial(_compile, mode="exec"))


def check_source(source: str, mode: str = "exec") -> None:
    """Parse and check ``source``; raise SyntaxError or ScriptRejected, run nothing."""
    (_compile_eval if mode == "eval" else _compile_exec)(source)


# ---------------------------------------------------------------------------------------
# Output size
# ---------------------------------------------------------------------------------------
def json_size_estimate(obj: Any, limit: int) -> int:
    """About ``len(json.dumps(obj))``; stops counting once the total passes ``limit``.

    Walks iteratively (no recursion limit) and counts shared objects each time they
    appear, as JSON would; cycles just run the count past the limit.
    """
    total = 0
    stack = [obj]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        o = pop()
        t = type(o)
        if t is str:
            total += len(o) + 2
        elif t is dict:
            total += 2 * len(o)  # "{}" and the ", " between items
            for key, value in o.items():
                total += (len(key) if type(key) is str else len(str(key))) + 4
                push(value)
        elif t is list or t is tuple:
            total += 2 * len(o) or 2
            if len(o) * 2 > limit:
                return total
            extend(o)
        elif t is int:
            total += (o.bit_length() * 1233 >> 12) + 1
        elif t is float:
            total += len(repr(o))
        elif o is None or o is True:
            total += 4
        elif o is False:
            total += 5
        else:
            total += len(str(o)) + 2
        if total > limit:
            return total
    return total


# ---------------------------------------------------------------------------------------
# Environment and engine
# ---------------------------------------------------------------------------------------
def _error_line(exc: BaseException) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == SCRIPT_FILENAME:
            line = lineno
    return line


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates expressions and executes scripts under the rules of this module.

    ``context`` is the task data: expressions read it, scripts update it. Helpers live
    in the scripts' builtins, so they are visible everywhere but never enter task data
    (a data variable with the same name shadows a helper, as in Python).
    """

    def __init__(
        self,
        helpers: dict[str, Callable] | None = None,
        time_limit: float = 1.0,
        max_output_bytes: int = 1_000_000,
        service_caller: Callable[[dict, str, dict], Any] | None = None,
        pool=None,
    ):
        helpers = dict(helpers or {})
        for name in helpers:
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"helper name {name!r} must be an identifier not starting with '_'")
            if name in FORBIDDEN_CALLS:
                raise ValueError(f"helper name {name!r} is reserved")
        super().__init__(helpers)
        self.helpers = helpers
        self.time_limit = float(time_limit)
        self.max_output_bytes = int(max_output_bytes)
        self.service_caller = service_caller
        self.pool = pool  # a workflows.sandbox.ScriptPool: scripts run in bounded worker processes
        self.builtins = {**SAFE_BUILTINS, **helpers}
        self._eval_globals = {**_GUARD_FUNCTIONS, "__builtins__": self.builtins}

    # -- SpiffWorkflow's interface ------------------------------------------------------
    def evaluate(self, expression, context, external_context=None):
        if self.pool is not None and not _compile_eval(expression).trivial:
            return self._in_worker("eval", expression, context, external_context)
        return self.evaluate_here(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        if self.pool is not None:
            _compile_exec(script)  # rejected scripts are refused here, without a round trip
            result = self._in_worker("exec", script, context, external_context or {})
            context.clear()
            context.update(result)
            return True
        return self.execute_here(script, context, external_context)

    def _in_worker(self, mode: str, source: str, context, external_context):
        from .sandbox import WorkerDied

        what = "expression" if mode == "eval" else "script"
        job = {"mode": mode, "source": source, "context": dict(context), "external": dict(external_context or {}),
               "helpers": sorted(self.helpers), "time_limit": self.time_limit,
               "max_output_bytes": self.max_output_bytes}
        try:
            answer = self.pool.run(job, self.time_limit, self.helpers)
        except TimeoutError:
            raise ScriptTimeout(self.time_limit, None, what) from None
        except WorkerDied as exc:
            if exc.args and exc.args[0] in (-24, -9):  # SIGXCPU: its CPU time ran out
                raise ScriptTimeout(self.time_limit, None, what) from None
            raise ScriptRejected(f"the {what} stopped its worker process (exit {exc.args[0] if exc.args else '?'})") from None
        except (pickle_errors()) as exc:
            raise ScriptRejected(f"the {what} produced a value that is not plain data: {exc}") from None
        if answer[0] == "ok":
            return answer[1]
        if answer[0] == "memory":
            raise ScriptRejected(f"the {what} needed more than {self.pool.memory_mb} MB of memory")
        _, name, text, line, reason, limit, what_ = answer
        if name == "ScriptRejected":
            raise ScriptRejected(reason or text, line)
        if name == "ScriptTimeout":
            raise ScriptTimeout(limit or self.time_limit, line, what_ or what)
        raise ScriptFailed(name, text, line)

    def evaluate_here(self, expression, context, external_context=None):
        compiled = _compile_eval(expression)
        if compiled.simple:
            for name in compiled.guard_names:
                if name in context:  # data shadowing a guard: use the safe, slower path
                    break
            else:
                try:
                    if external_context:
                        return eval(compiled.code, self._eval_globals, {**external_context, **context})
                    return eval(compiled.code, self._eval_globals, context)
                except _Violation as exc:
                    raise ScriptRejected(exc.reason, _error_line(exc)) from None
        namespace = self._namespace(context, external_context)
        return self._run(eval, compiled, namespace, "expression")

    def execute_here(self, script, context, external_context=None):
        compiled = _compile_exec(script)
        external_context = external_context or {}
        namespace = self._namespace(context, external_context)
        self._run(exec, compiled, namespace, "script")
        result = {}
        for key, value in namespace.items():
            if key in _RESERVED_GLOBALS:
                if key in context:  # odd data that shares a name with our internals
                    result[key] = context[key]
                continue
            if callable(value):
                continue
            if key in external_context and key not in context:
                continue
            result[key] = value
        size = json_size_estimate(result, self.max_output_bytes)
        if size > self.max_output_bytes:
            raise ScriptRejected(
                f"the task data would be larger than {self.max_output_bytes:,} bytes as JSON after this script"
            )
        for key in [key for key in context if key not in result]:
            del context[key]
        context.update(result)
        return True

    def call_service(self, context, operation_name=None, operation_params=None, **kwargs):
        """Run a service task's operation through the host's ``service_caller``.

        SpiffWorkflow hands parameters as ``{name: {"value": v, "type": t}}``; the caller
        gets plain ``{name: v}``. Its result (any JSON-able value) is returned as JSON
        text, which is what SpiffWorkflow's ServiceTask ``json.loads`` into the
        task's result variable.
        """
        if self.service_caller is None:
            raise ServiceCallError(
                f"no service caller is configured, so the service operation {operation_name!r} cannot run"
            )
        params = {
            name: (param["value"] if isinstance(param, dict) and "value" in param else param)
            for name, param in (operation_params or {}).items()
        }
        result = self.service_caller(context, operation_name, params)
        try:
            return json.dumps(result, default=str)
        except (TypeError, ValueError) as exc:
            raise ServiceCallError(
                f"service operation {operation_name!r} returned a non-JSON result: {exc}"
            ) from exc

    # -- internals --------------------------------------------------------------------
    def _namespace(self, context, external_context) -> dict:
        namespace = dict(external_context) if external_context else {}
        namespace.update(context)
        namespace.update(_GUARD_FUNCTIONS)
        namespace["__builtins__"] = self.builtins
        return namespace

    def _run(self, runner, compiled: _Compiled, namespace: dict, what: str):
        namespace[_TICK] = _make_tick(time.monotonic() + self.time_limit)
        try:
            return runner(compiled.code, namespace)
        except _Deadline as exc:
            raise ScriptTimeout(self.time_limit, _error_line(exc), what) from None
        except _Violation as exc:
            raise ScriptRejected(exc.reason, _error_line(exc)) from None


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine that runs designers' scripts under restrictions.

    Errors reach SpiffWorkflow's callers as ``WorkflowTaskException`` whose message
    contains the reason; the original exception (``ScriptRejected``, ``ScriptTimeout``,
    ``NameError``, ...) is ``exc.exception`` and ``exc.__cause__``.
    """

    def __init__(
        self,
        helpers: dict[str, Callable] | None = None,
        time_limit: float = 1.0,
        max_output_bytes: int = 1_000_000,
        service_caller: Callable[[dict, str, dict], Any] | None = None,
        pool=None,
    ):
        super().__init__(
            environment=RestrictedEnvironment(
                helpers=helpers,
                time_limit=time_limit,
                max_output_bytes=max_output_bytes,
                service_caller=service_caller,
                pool=pool,
            )
        )

    @property
    def time_limit(self) -> float:
        return self.environment.time_limit

    @property
    def max_output_bytes(self) -> int:
        return self.environment.max_output_bytes

    def validate(self, expression):
        """Parse and check without running (SyntaxError or ScriptRejected)."""
        check_source(expression, "exec")

    def check_script(self, script: str) -> None:
        """For deployment: raise SyntaxError/ScriptRejected if ``script`` would be refused."""
        check_source(script, "exec")

    def check_expression(self, expression: str) -> None:
        """For deployment: raise SyntaxError/ScriptRejected if ``expression`` would be refused."""
        check_source(expression, "eval")

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as se:
            se.add_note(f"Error evaluating expression '{expression}'")
            raise se
        except Exception as err:
            message = f"Error evaluating expression '{expression}': {_describe(err)}"
            wte = _task_exception(task, message, err, getattr(err, "line", None))
            if wte is err:
                raise
            raise wte from err

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except Exception as err:
            wte = self.create_task_exec_exception(task, script, err)
            if wte is err:
                raise
            raise wte from err

    def call_service(self, task, **kwargs):
        try:
            return self.environment.call_service(task.data, **kwargs)
        except SpiffWorkflowException:
            raise
        except Exception as err:
            operation = kwargs.get("operation_name")
            wte = _task_exception(task, f"Service operation {operation!r} failed: {_describe(err)}", err)
            if wte is err:
                raise
            raise wte from err

    def create_task_exec_exception(self, task, script, err):
        if isinstance(err, SpiffWorkflowException):
            return super().create_task_exec_exception(task, script, err)
        line_number, error_line = self.get_error_line_number_and_content(script, err)
        return _task_exception(task, _describe(err), err, line_number, error_line)

    def get_error_line_number_and_content(self, script, err):
        line_number = getattr(err, "line", None)
        if line_number is None:
            line_number = err.lineno if isinstance(err, SyntaxError) else _error_line(err)
        line_number = line_number or 0
        lines = script.splitlines() if isinstance(script, str) else []
        error_line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
        return line_number, error_line


def pickle_errors():
    import pickle

    return (pickle.UnpicklingError, pickle.PicklingError)


def _describe(err: BaseException) -> str:
    if isinstance(err, ScriptFailed):
        return str(err)
    if isinstance(err, (ScriptRejected, ScriptTimeout)):
        return f"{type(err).__name__}: {err}"
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _task_exception(task, message, err, line_number=None, error_line=None):
    """A WorkflowTaskException carrying ``err``; ``err`` itself if ``task`` is no real task."""
    try:
        wte = WorkflowTaskException(
            message, task=task, exception=err, line_number=line_number, error_line=error_line
        )
    except AttributeError:  # a bare stand-in with only .data (tests, tools)
        return err
    wte.exception = err
    return wte
