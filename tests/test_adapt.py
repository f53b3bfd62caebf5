"""Forwarding a user's optional members (evotune/_adapt.py): a ``Forwarded``
member reads the wrapped object's own value or the default, at each access,
and never writes onto the user's object; ``missing_members`` names what an
object lacks."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evotune._adapt import Forwarded, missing_members
from evotune._objective import as_objective
from evotune.backends.base import as_backend
from evotune.records import FoldResult

DEFAULT_TAGS: tuple[str, ...] = ("default",)


class Adapter:
    timeout = Forwarded(None)
    n_workers = Forwarded(1)
    tags = Forwarded(DEFAULT_TAGS)

    def __init__(self, wrapped: object) -> None:
        self.wrapped = wrapped


class Plain:
    pass


def test_the_wrapped_objects_member_is_read():
    class Mine:
        timeout = 5.0

    mine = Mine()
    mine.n_workers = 4
    adapter = Adapter(mine)
    assert adapter.timeout == 5.0
    assert adapter.n_workers == 4


def test_the_default_where_the_wrapped_object_has_none():
    adapter = Adapter(Plain())
    assert adapter.timeout is None
    assert adapter.n_workers == 1
    assert adapter.tags is DEFAULT_TAGS  # the default object itself, not a copy


def test_a_falsy_member_of_the_wrapped_object_is_not_replaced_by_the_default():
    mine = Plain()
    mine.n_workers = 0
    mine.tags = ()
    adapter = Adapter(mine)
    assert adapter.n_workers == 0
    assert adapter.tags == ()


def test_each_access_reads_the_wrapped_object_again():
    mine = Plain()
    adapter = Adapter(mine)
    assert adapter.n_workers == 1
    mine.n_workers = 8  # e.g. a backend that knows its workers once started
    assert adapter.n_workers == 8
    mine.n_workers = 3
    assert adapter.n_workers == 3
    del mine.n_workers
    assert adapter.n_workers == 1


def test_a_property_of_the_wrapped_object_is_evaluated_at_each_access():
    class Counting:
        def __init__(self) -> None:
            self.calls = 0

        @property
        def timeout(self) -> float:
            self.calls += 1
            return float(self.calls)

    mine = Counting()
    adapter = Adapter(mine)
    assert [adapter.timeout, adapter.timeout, adapter.timeout] == [1.0, 2.0, 3.0]
    assert mine.calls == 3


def test_reading_never_writes_onto_the_wrapped_object():
    mine = Plain()
    mine.timeout = 2.5
    before = dict(vars(mine))
    adapter = Adapter(mine)
    _ = adapter.timeout, adapter.n_workers, adapter.tags
    assert vars(mine) == before
    assert not hasattr(mine, "n_workers") and not hasattr(mine, "tags")
    # nor onto the adapter: the value is not cached there
    assert set(vars(adapter)) == {"wrapped"}


def test_setting_on_the_adapter_is_refused_and_changes_nothing():
    mine = Plain()
    mine.timeout = 2.5
    adapter = Adapter(mine)
    with pytest.raises(AttributeError, match="'timeout' is the wrapped object's own"):
        adapter.timeout = 9.0
    with pytest.raises(AttributeError, match="'n_workers'"):
        adapter.n_workers = 2
    assert mine.timeout == 2.5 and adapter.timeout == 2.5
    assert not hasattr(mine, "n_workers")
    assert set(vars(adapter)) == {"wrapped"}


def test_the_class_attribute_is_the_descriptor_with_its_name_and_default():
    descriptor = Adapter.__dict__["timeout"]
    assert Adapter.timeout is descriptor
    assert isinstance(descriptor, Forwarded)
    assert (descriptor.name, descriptor.default) == ("timeout", None)
    assert (Adapter.n_workers.name, Adapter.n_workers.default) == ("n_workers", 1)


@settings(max_examples=50)
@given(value=st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.text()))
def test_any_value_of_the_wrapped_object_is_forwarded_as_it_is(value):
    mine = Plain()
    mine.timeout = value
    assert Adapter(mine).timeout is value
    assert Adapter(Plain()).timeout is None


def test_the_backend_adapter_forwards_and_leaves_the_users_object_alone():
    class MyBackend:
        n_workers = 3

        def start(self, objective):
            self.started = True

        def submit(self, task):
            pass

        def wait(self, timeout=None):
            return []

        def shutdown(self):
            pass

    mine = MyBackend()
    before = copy.copy(vars(mine))
    adapted = as_backend(mine)
    assert adapted.wrapped is mine
    assert (adapted.n_workers, adapted.timeout, adapted.needs_pickle) == (3, None, False)
    mine.timeout = 7.0
    assert adapted.timeout == 7.0
    with pytest.raises(AttributeError):
        adapted.n_workers = 10
    assert vars(mine) == {**before, "timeout": 7.0}


def test_the_objective_adapter_forwards_the_metric():
    class MyObjective:
        n_tasks = 2

        def run(self, params, task, seed):
            return FoldResult(score=1.0)

    mine = MyObjective()
    adapted = as_objective(mine)
    assert adapted.metric == "score"
    mine.metric = "accuracy"
    assert adapted.metric == "accuracy"
    assert vars(mine) == {"metric": "accuracy"}


# ---- missing_members -----------------------------------------------------------


def test_missing_members_of_a_bare_object_are_all_named_methods_first():
    assert missing_members(object(), ["run", "start"], ["n_tasks", "metric"]) == [
        "run",
        "start",
        "n_tasks",
        "metric",
    ]


def test_nothing_is_missing_from_a_complete_object():
    class Full:
        n_tasks = 0  # falsy attributes are present all the same
        metric = None

        def run(self):
            pass

    assert missing_members(Full(), ["run"], ["n_tasks", "metric"]) == []
    assert missing_members(Full(), []) == []


def test_a_method_must_be_callable_an_attribute_need_not_be():
    class Odd:
        run = 3  # there, but not callable: as good as missing
        n_tasks = staticmethod(lambda: 1)  # an attribute may be anything

    assert missing_members(Odd(), ["run"], ["n_tasks"]) == ["run"]
    # any callable will do as a method: a function in the instance's dict too
    odd = Odd()
    odd.run = lambda: None
    assert missing_members(odd, ["run"], ["n_tasks"]) == []


def test_the_messages_of_the_adapters_name_what_is_missing():
    class Half:
        def start(self, objective):
            pass

        def wait(self, timeout=None):
            return []

    with pytest.raises(TypeError, match=r"has no submit, shutdown$"):
        as_backend(Half())


NAMES = ["alpha", "beta", "gamma", "delta", "eps", "zeta"]


@given(
    methods=st.lists(st.sampled_from(NAMES), unique=True),
    attributes=st.lists(st.sampled_from(NAMES), unique=True),
    present_methods=st.sets(st.sampled_from(NAMES)),
    present_attributes=st.sets(st.sampled_from(NAMES)),
)
def test_missing_members_is_exactly_what_the_object_lacks_in_the_order_asked(
    methods, attributes, present_methods, present_attributes
):
    obj = Plain()
    for name in present_attributes:
        setattr(obj, name, 0)  # present but not callable
    for name in present_methods:
        setattr(obj, name, lambda: None)  # callable (and so present as an attribute too)
    expected = [m for m in methods if m not in present_methods] + [
        a for a in attributes if a not in present_methods | present_attributes
    ]
    assert missing_members(obj, methods, attributes) == expected
    assert missing_members(obj, iter(methods), iter(attributes)) == expected
