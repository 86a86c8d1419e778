"""The bounded wire types: days and flags mean what their schema says, nothing laxer."""

from __future__ import annotations

from datetime import date

import pydantic
import pytest

from jupyter_astro_ops.core.wire import DAY_PATTERN, Day, Flag


class Body(pydantic.BaseModel):
    day: Day | None = None
    flag: Flag = False


@pytest.mark.parametrize("bad", [0, 1.5, "0", "20300101", "0261-09-15", "8363-02-14",
                                 "2030-02-30", "2030-01-01T00:00:00Z", True])
def test_a_day_is_an_iso_date_in_the_supported_years(bad: object) -> None:
    with pytest.raises(pydantic.ValidationError):
        Body.model_validate({"day": bad})


def test_a_day_accepts_iso_strings_and_dates() -> None:
    assert Body.model_validate({"day": "2030-01-07"}).day == date(2030, 1, 7)
    assert Body(day=date(1900, 1, 1)).day == date(1900, 1, 1)
    schema = Body.model_json_schema()["properties"]["day"]["anyOf"][0]
    assert schema == {"type": "string", "format": "date", "pattern": DAY_PATTERN}


@pytest.mark.parametrize("bad", [0, 1, "true", "no", None])
def test_a_flag_is_true_or_false_only(bad: object) -> None:
    with pytest.raises(pydantic.ValidationError):
        Body.model_validate({"flag": bad})
    assert Body.model_validate_json('{"flag": true}').flag is True
