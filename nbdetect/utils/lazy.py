"""Package attributes that import their module on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, modules: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for a package whose names load with their module.

    Args:
        package: the package's `__name__`.
        modules: `{attribute: submodule}`, e.g. `{"NMSExplorer": "nms_explorer"}`.
        namespace: the package's `globals()`; loaded names are cached there.

    Returns:
        The package's `__getattr__` and `__dir__`.

    Example:
        In a package's `__init__.py`, as `nbdetect.widgets` does:
        `__getattr__, __dir__ = lazy_attributes(__name__, _MODULES, globals())`.

        >>> from nbdetect.utils.lazy import lazy_attributes
        >>> namespace = {}
        >>> getattr_, dir_ = lazy_attributes("json", {"JSONDecoder": "decoder"}, namespace)
        >>> getattr_("JSONDecoder")  # imports json.decoder now
        <class 'json.decoder.JSONDecoder'>
        >>> sorted(namespace), dir_()
        (['JSONDecoder'], ['JSONDecoder'])
    """

    def __getattr__(name: str) -> Any:
        if name in modules:
            value = getattr(importlib.import_module(f"{package}.{modules[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(modules))

    return __getattr__, __dir__
