"""Postcode normalisation and the bundled ONS centroid lookup."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estates.errors import DataValidationError
from estates.io.postcodes import (
    load_postcode_lookup,
    normalise_postcode,
    normalise_postcodes,
)


@pytest.fixture(scope="module")
def lookup():
    return load_postcode_lookup()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("NW3  2QG", "NW3 2QG"),  # ERIC pads to 8 characters
        ("W6   8NF", "W6 8NF"),
        ("nw3 2qg", "NW3 2QG"),
        ("EC1A1AA", "EC1A 1AA"),  # the NSPL writes 7-character postcodes without a space
        ("SW1A OAA", "SW1A 0AA"),  # the inward code starts with a digit, always
        ("SO16 6YD", "SO16 6YD"),  # an O in the outward code can be right: left alone
        ("  ", ""),
        (None, ""),
        ("E1", "E1"),  # too short to split: kept, and will not be found
    ],
)
def test_normalise_postcode(given: object, expected: str) -> None:
    assert normalise_postcode(given) == expected


def test_normalise_postcodes_keeps_the_index() -> None:
    given = pd.Series(["e1 1bb", np.nan], index=[7, 9])
    out = normalise_postcodes(given)
    assert out.index.tolist() == [7, 9]
    assert out.tolist() == ["E1 1BB", ""]
    assert given.iloc[0] == "e1 1bb"


def test_the_bundled_lookup_holds_every_london_and_eric_postcode(lookup) -> None:
    assert len(lookup) == 392_016 + 10
    assert (lookup.postcodes[:-1] < lookup.postcodes[1:]).all()


def test_locate_padded_lower_case_and_outside_london(lookup) -> None:
    found = lookup.locate(["NW3  2QG", "rg45 7eg", "", "LW10 9NH"])
    assert found["found"].tolist() == [True, True, False, False]
    assert found["postcode_normalised"].tolist() == ["NW3 2QG", "RG45 7EG", "", "LW10 9NH"]
    # Broadmoor, Berkshire: in the lookup although outside the London areas.
    assert found.loc[1, ["latitude", "longitude"]].tolist() == [51.36908, -0.78098]
    assert found.loc[2:, "latitude"].isna().all()


def test_a_longitude_of_zero_is_a_real_centroid(lookup) -> None:
    found = lookup.locate(["E11 1DB", "E15 1FF"])
    assert found["found"].all()
    assert (found["longitude"] == 0.0).all()
    assert found["latitude"].between(51.5, 51.6).all()


def test_one_edit_suggestions_for_the_two_eric_typos(lookup) -> None:
    # No LW area: two real postcodes are one substitution away.
    assert lookup.one_edit_away("LW10 9NH") == ["NW10 9NH", "SW10 9NH"]
    # E14 4DG is not in the NSPL: deleting the 4 gives E1 4DG (what NHS Choices
    # gives for this site), but 25 others are one edit away too.
    near = lookup.one_edit_away("E14 4DG")
    assert "E1 4DG" in near
    assert len(near) == 26
    assert lookup.suggestion("E14 4DG").startswith("26 postcodes are one edit away")


def test_a_transposition_is_found(lookup) -> None:
    assert lookup.one_edit_away("NW3 Q2G") == ["NW3 2QG"]
    assert lookup.suggestion("NW3 Q2G") == "did you mean NW3 2QG? (the only postcode one edit away)"


def test_many_postcodes_in_any_spelling_find_their_own_centroid(lookup) -> None:
    sample = pd.Series(lookup.postcodes.astype(object)).sample(50_000, random_state=1)
    # As people type them: lower case, no space, padded.
    spelt = sample.str.lower().str.replace(" ", "", regex=False).radd("  ")
    found = lookup.locate(spelt.reset_index(drop=True))
    assert found["found"].all()
    where = sample.index.to_numpy()
    np.testing.assert_array_equal(found["latitude"].to_numpy(), lookup.latitude[where])
    np.testing.assert_array_equal(found["longitude"].to_numpy(), lookup.longitude[where])


def test_a_postcode_file_without_the_columns_is_refused(write) -> None:
    path = write("centroids.csv", "pc,lat,lon\nE1 1BB,51.5,-0.05\n")
    with pytest.raises(DataValidationError, match=r"centroids.csv: cannot read as postcode"):
        load_postcode_lookup([path])


def test_a_users_postcode_file(write) -> None:
    path = write(
        "centroids.csv",
        "postcode,latitude,longitude\nE1 1BB,51.5,-0.05\nzz99 9zz,,\nE1 1BB,1,1\n",
    )
    lookup = load_postcode_lookup([path])
    assert lookup.postcodes.tolist() == ["E1 1BB"]
    assert lookup.latitude.tolist() == [51.5]
