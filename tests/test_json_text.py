"""`report.json_text` writes exactly what `json.dumps(value, indent=2)` writes, faster."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.report import json_text

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(), max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=24,
)


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_json_text_is_json_dumps_with_indent_two(value: object) -> None:
    assert json_text(value) == json.dumps(value, indent=2)


def test_what_it_does_not_write_itself_goes_to_the_standard_encoder() -> None:
    for value in ({1: "a", "b": [math.nan]}, [math.inf, {"x": -math.inf}], {None: True, 2.5: []}):
        assert json_text(value) == json.dumps(value, indent=2)
