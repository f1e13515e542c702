"""Storage node request paths: percent-encoded exactly as ``urllib.parse.quote`` would, whatever the names."""

from __future__ import annotations

import random
from types import SimpleNamespace
from urllib.parse import quote

from objclient.paths import cont_path, obj_path

DEV = SimpleNamespace(ip="127.0.0.1", port=6201, device="d1")


def test_paths_quote_as_urllib_does():
    rng = random.Random(7)
    alphabet = "abcXYZ019_.~-/ %?#&=+;:@\n\r\t\"'\u00e9\u2603\U0001f600"
    for _ in range(5000):
        account, container, obj = ("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
                                   for _ in range(3))
        assert obj_path(DEV, 5, account, container, obj) == (
            f"/obj/d1/5/{quote(account, safe='')}/{quote(container, safe='')}/{quote(obj, safe='/')}")
        assert cont_path(DEV, 5, account, container) == (
            f"/cont/d1/5/{quote(account, safe='')}/{quote(container, safe='')}")
