"""HeaderDict's own pop and update behave as the MutableMapping mixins they replace (same answers, same stored
spellings), for every kind of argument the proxy passes."""

from __future__ import annotations

from collections.abc import MutableMapping

import pytest
from starlette.datastructures import Headers

from objclient.headers import HeaderDict


class MixinHeaderDict(HeaderDict):
    """HeaderDict with the mixins' pop and update: the reference behaviour."""

    pop = MutableMapping.pop  # type: ignore[assignment]
    update = MutableMapping.update  # type: ignore[assignment]


def _pairs(h: HeaderDict) -> list[tuple[str, str]]:
    return list(h.items())


BASE = {"Content-Type": "a", "X-Object-Meta-Color": "blue", "ETag": "e"}
UPDATES = [
    {"content-type": "b", "X-New": "1"},
    {"X-New": "1", "x-new": "2"},
    HeaderDict({"CONTENT-TYPE": "c", "X-Other": "o"}),
    Headers(raw=[(b"x-multi", b"1"), (b"x-multi", b"2"), (b"content-type", b"d")]),
    [("X-Pair", "p"), ("x-pair", "q")],
    (),
]


@pytest.mark.parametrize("other", UPDATES, ids=lambda o: type(o).__name__)
def test_update_as_the_mixin(other):
    mine, reference = HeaderDict(BASE), MixinHeaderDict(BASE)
    mine.update(other, Extra="k")
    reference.update(other, Extra="k")
    assert _pairs(mine) == _pairs(reference)


def test_pop_as_the_mixin():
    mine, reference = HeaderDict(BASE), MixinHeaderDict(BASE)
    for name in ("content-type", "ETAG", "absent"):
        assert mine.pop(name, None) == reference.pop(name, None)
        assert _pairs(mine) == _pairs(reference)
    assert mine.pop("x-object-meta-color") == reference.pop("x-object-meta-color") == "blue"
    with pytest.raises(KeyError):
        mine.pop("absent")
    with pytest.raises(KeyError):
        reference.pop("absent")
    assert mine.pop("absent", "d") == "d"


def test_a_copy_is_independent():
    original = HeaderDict(BASE)
    copy = HeaderDict(original)
    copy["Content-Type"] = "z"
    assert original["content-type"] == "a" and copy["content-type"] == "z"
