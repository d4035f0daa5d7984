"""Option values without pydantic: typer (0.2x) builds a pydantic TypeAdapter for every option, and importing pydantic
costs a command about 0.1 s (commands that talk to the cluster load it anyway, for the kubernetes client, and save only
the adapters). The values shipit's options take (a string, an enum choice, a path, an int within its bounds) are
coerced here by typer's own helpers, giving what its adapter gives; anything else (a value the option refuses, an int
given as text) still goes through typer's adapter, so its errors are typer's own.
"""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Any

_NO = object()  # not a plain value: typer's adapter decides


def plain_value(descriptor: Any, value: Any, param: Any, ctx: Any) -> Any:
    """What typer's adapter would return for `value`, or _NO when only the adapter can tell."""
    from typer._param_types import coerce_cli_choice, coerce_cli_path

    annotation, info = descriptor.annotation, descriptor.parameter_info
    if info.parser is not None or descriptor.file_annotation is not None:
        return _NO
    if annotation is str:
        return str(value) if isinstance(value, str) else _NO
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        try:
            return coerce_cli_choice(value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx)
        except ValueError:
            return _NO
    if isinstance(annotation, type) and issubclass(annotation, Path) and info.path_type is None:
        if isinstance(value, str) and value:
            return coerce_cli_path(annotation(value), info, path_type=annotation, param=param, ctx=ctx)
        return _NO
    if annotation is int and type(value) is int and not info.clamp and (info.min is None or value >= info.min) and (
            info.max is None or value <= info.max):
        return value
    return _NO


def install() -> None:
    """Route typer's options through `plain_value` first; a typer without this coercion layer is left as it is."""
    try:
        from typer import _coercion, core
    except ImportError:
        return
    adapter_param = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if adapter_param is None or getattr(base, "__abstractmethods__", None) != frozenset({"_coerce_value"}) or getattr(
            adapter_param, "shipit_plain", False):
        return

    @dataclasses.dataclass(frozen=True)
    class PlainRuntimeParam(base):
        descriptor: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            result = plain_value(self.descriptor, value, param, ctx)
            if result is _NO:
                return adapter_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)
            return result

    def build(descriptor: Any) -> Any:
        return PlainRuntimeParam(annotation=descriptor.annotation, parameter_info=descriptor.parameter_info,
                                 descriptor=descriptor)

    build.shipit_plain = True
    core.build_runtime_param = build
