"""The fixed facts of London geography that SafeStats may rely on without any file: the 33
boroughs' ONS codes and names, the shape of ONS codes for each level, and the vintages we
know. No Django import: the engine, the file readers and the migrations all use it."""

from __future__ import annotations

import re
from typing import Final

# The 33 London local authority districts (32 boroughs and the City of London). Their codes
# and names have not changed since 2013, so LAD13 codes equal current codes.
BOROUGHS: Final[dict[str, str]] = {
    "E09000001": "City of London",
    "E09000002": "Barking and Dagenham",
    "E09000003": "Barnet",
    "E09000004": "Bexley",
    "E09000005": "Brent",
    "E09000006": "Bromley",
    "E09000007": "Camden",
    "E09000008": "Croydon",
    "E09000009": "Ealing",
    "E09000010": "Enfield",
    "E09000011": "Greenwich",
    "E09000012": "Hackney",
    "E09000013": "Hammersmith and Fulham",
    "E09000014": "Haringey",
    "E09000015": "Harrow",
    "E09000016": "Havering",
    "E09000017": "Hillingdon",
    "E09000018": "Hounslow",
    "E09000019": "Islington",
    "E09000020": "Kensington and Chelsea",
    "E09000021": "Kingston upon Thames",
    "E09000022": "Lambeth",
    "E09000023": "Lewisham",
    "E09000024": "Merton",
    "E09000025": "Newham",
    "E09000026": "Redbridge",
    "E09000027": "Richmond upon Thames",
    "E09000028": "Southwark",
    "E09000029": "Sutton",
    "E09000030": "Tower Hamlets",
    "E09000031": "Waltham Forest",
    "E09000032": "Wandsworth",
    "E09000033": "Westminster",
}

# ONS GSS codes: a three-character entity prefix and six digits.
PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    "borough": re.compile(r"^E09\d{6}$"),
    "ward": re.compile(r"^E05\d{6}$"),
    "msoa": re.compile(r"^E02\d{6}$"),
    "lsoa": re.compile(r"^E01\d{6}$"),
}

LEVELS: Final = ("borough", "ward", "msoa", "lsoa")
WARD_VINTAGES: Final = ("WD19", "WD25")
CENSUS_VINTAGES: Final = ("2011", "2021")
# Which ward vintage each census vintage's LSOA lookup points at (see the loader).
LSOA_WARD_VINTAGE: Final[dict[str, str]] = {"2011": "WD19", "2021": "WD25"}

# Greater London with a margin of a few kilometres, in WGS 84. A boundary or centroid
# outside it is not London data, whatever its code says.
LONDON_LON: Final = (-0.65, 0.45)
LONDON_LAT: Final = (51.2, 51.8)


def code_problem(level: str, code: object) -> str | None:
    """Why ``code`` is not a well-formed code for ``level`` (a London one for boroughs),
    or None when it is."""
    if not isinstance(code, str) or not PATTERNS[level].match(code):
        prefix = PATTERNS[level].pattern[1:4]
        return f"{code!r} is not an ONS {level} code ({prefix} and six digits)"
    if level == "borough" and code not in BOROUGHS:
        return f"{code} is not one of the 33 London borough codes (E09000001 to E09000033)"
    return None
