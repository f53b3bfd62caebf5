"""What the adapters of user objects share: forwarding optional members.

An objective or a backend from the user that does not subclass
:class:`~evotune.BaseObjective` / :class:`~evotune.BaseBackend` is wrapped in
one adapter (:func:`~evotune.evaluation.as_objective`,
:func:`~evotune.backends.base.as_backend`). The adapter is the only place
that asks such an object whether it has an optional member; the evaluator,
the run and the backends call every member directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

__all__ = ["Forwarded", "missing_members"]


class Forwarded(Generic[T]):
    """An adapter's data member: the wrapped object's own, else ``default``.

    Read at each access (a backend may know its workers only once started),
    from the adapter's ``wrapped`` attribute; never written, so the user's
    object stays as it was.

    Examples
    --------
    >>> class Adapter:
    ...     timeout = Forwarded(None)
    ...     def __init__(self, wrapped): self.wrapped = wrapped
    >>> class Mine: timeout = 5.0
    >>> Adapter(Mine()).timeout, Adapter(object()).timeout
    (5.0, None)
    """

    def __init__(self, default: T) -> None:
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Forwarded[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> Forwarded[T] | T:
        if obj is None:
            return self
        value: T = getattr(obj.__dict__["wrapped"], self.name, self.default)
        return value

    def __set__(self, obj: object, value: T) -> None:
        raise AttributeError(
            f"{self.name!r} is the wrapped object's own: set it there, not on the adapter"
        )


def missing_members(obj: Any, methods: Iterable[str], attributes: Iterable[str] = ()) -> list[str]:
    """The names among ``methods`` (which must be callable) and ``attributes``
    that ``obj`` lacks.

    Examples
    --------
    >>> missing_members(object(), ["run"], ["n_tasks"])
    ['run', 'n_tasks']
    """
    out = [m for m in methods if not callable(getattr(obj, m, None))]
    return out + [a for a in attributes if not hasattr(obj, a)]
