"""``numba.njit`` as maskrun compiles its inner loops: without the GIL, cached on disk where it can be.

numba is imported by the modules that hold such loops (`maskrun.geometry.projection_kernels`,
`maskrun.io.float16_kernel`), and those only where they are used: importing numba costs a
third of a second, which a run that needs none of them does not pay.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, overload

import numba


@overload
def compiled(function: Callable[..., Any], /) -> Any: ...


@overload
def compiled(function: None = None, /, **options: Any) -> Callable[[Callable[..., Any]], Any]: ...


def compiled(function: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """``numba.njit``, without the GIL, cached on disk where numba finds a folder it can write.

    numba caches beside the module or in the user's cache folder; where neither is writable
    (a read-only installation on a node whose home is read-only) it refuses to cache at all,
    and the function is then compiled once in each process (about a second) rather than the
    job failing. ``options`` go to numba: ``@compiled(fastmath={"contract"})``; plain ``@compiled``
    takes none.
    """
    if function is None:
        return functools.partial(compiled, **options)
    try:
        return numba.njit(cache=True, nogil=True, **options)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True, **options)(function)
