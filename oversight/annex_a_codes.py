"""The one table from the DfE codes we store to the values Ofsted's Annex A template shows.

The labels are the template's own ("a) Male", "a) WBRI", "e) 2A: Schools"), as written in the
column rules local authorities' shared Annex A pipeline applies (Social Finance's liia-tools,
`annex_a_pipeline/spec/Annex_A_schema.yml`): the pipeline recognises each label exactly, so a
council's return reads the same as every other council's. Councils that prefer the bare codes
set ANNEX_A_VALUES=codes; the pipeline recognises those too (WBRI, 2A, M, F).

Readings where the template and our codes do not line up one to one:
- Sex: Annex A has no code for "unknown" or "indeterminate"; both are "c) Not stated/recorded"
  (the pipeline files "indeterminate" there too). We hold no value for "d) Neither".
- Ethnicity: the template letters REFU and NOBT both "s)"; we write exactly what the pipeline
  recognises.
"""

from __future__ import annotations

from cases import codes

LABELS = "labels"
CODES = "codes"
MODES = (LABELS, CODES)

# Column -> DfE code -> template label.
SEX_LABELS = {
    "M": "a) Male",
    "F": "b) Female",
    "U": "c) Not stated/recorded",
    "I": "c) Not stated/recorded",
}
SEX_TEMPLATE_LABELS = ("a) Male", "b) Female", "c) Not stated/recorded", "d) Neither")
# With bare codes: the two sexes Annex A has a letter for, and its own words for the rest.
SEX_CODES = {"M": "M", "F": "F", "U": "Not stated/recorded", "I": "Not stated/recorded"}

ETHNICITY_LABELS = {
    "WBRI": "a) WBRI",
    "WIRI": "b) WIRI",
    "WIRT": "c) WIRT",
    "WOTH": "d) WOTH",
    "WROM": "e) WROM",
    "MWBC": "f) MWBC",
    "MWBA": "g) MWBA",
    "MWAS": "h) MWAS",
    "MOTH": "i) MOTH",
    "AIND": "j) AIND",
    "APKN": "k) APKN",
    "ABAN": "l) ABAN",
    "AOTH": "m) AOTH",
    "BCRB": "n) BCRB",
    "BAFR": "o) BAFR",
    "BOTH": "p) BOTH",
    "CHNE": "q) CHNE",
    "OOTH": "r) OOTH",
    "REFU": "s) REFU",
    "NOBT": "s) NOBT",
}

CONTACT_SOURCE_LABELS = {
    "1A": "a) 1A: Individual",
    "1B": "b) 1B: Individual",
    "1C": "c) 1C: Individual",
    "1D": "d) 1D: Individual",
    "2A": "e) 2A: Schools",
    "2B": "f) 2B: Education services",
    "3A": "g) 3A: Health services",
    "3B": "h) 3B: Health services",
    "3C": "i) 3C: Health services",
    "3D": "j) 3D: Health services",
    "3E": "k) 3E: Health services",
    "3F": "l) 3F: Health services",
    "4": "m) 4: Housing",
    "5A": "n) 5A: LA services",
    "5B": "o) 5B: LA services",
    "5C": "p) 5C: LA services",
    "5D": "p1) 5D: LA services",
    "6": "q) 6: Police",
    "7": "r) 7: Other legal agency",
    "8": "s) 8: Other",
    "9": "t) 9: Anonymous",
    "10": "u) 10: Unknown",
}

SEX = "sex"
ETHNICITY = "ethnicity"
CONTACT_SOURCE = "contact_source"

_TABLES = {
    LABELS: {SEX: SEX_LABELS, ETHNICITY: ETHNICITY_LABELS, CONTACT_SOURCE: CONTACT_SOURCE_LABELS},
    CODES: {
        SEX: SEX_CODES,
        ETHNICITY: {code: code for code in ETHNICITY_LABELS},
        CONTACT_SOURCE: {code: code for code in CONTACT_SOURCE_LABELS},
    },
}

# What each list's category column accepts in each mode (the template's whole list, even values we
# never write, such as "d) Neither").
ALLOWED = {
    LABELS: {
        SEX: frozenset(SEX_TEMPLATE_LABELS),
        ETHNICITY: frozenset(ETHNICITY_LABELS.values()),
        CONTACT_SOURCE: frozenset(CONTACT_SOURCE_LABELS.values()),
    },
    CODES: {
        SEX: frozenset({"M", "F", "Not stated/recorded", "Neither"}),
        ETHNICITY: frozenset(ETHNICITY_LABELS),
        CONTACT_SOURCE: frozenset(CONTACT_SOURCE_LABELS),
    },
}

# Values that are valid in the return but say the information was not recorded: worth completing.
NOT_KNOWN_CODES = {SEX: frozenset({"U", "I"}), ETHNICITY: frozenset({"NOBT"}), CONTACT_SOURCE: frozenset({"10"})}
NOT_KNOWN = {
    mode: {column: frozenset(_TABLES[mode][column][c] for c in cs) for column, cs in NOT_KNOWN_CODES.items()}
    for mode in MODES
}


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"Annex A values must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def value_for(column: str, code: str | None, *, mode: str) -> str | None:
    """The template's value for a stored code; a code we have no row for is written as stored.

    Writing an unknown code as it is (rather than blank) lets the data-quality report name it.
    """
    if code is None or code == "":
        return None
    return _TABLES[check_mode(mode)][column].get(code, code)


def _check_tables_cover_the_stored_codes() -> None:
    stored = {
        SEX: {c for c, _ in codes.SEXES},
        ETHNICITY: {c for c, _ in codes.ETHNICITIES},
        CONTACT_SOURCE: {c for c, _ in codes.CONTACT_SOURCES},
    }
    for column, table in _TABLES[LABELS].items():
        missing = stored[column] - set(table)
        if missing:
            raise ImportError(f"Annex A has no value for the {column} codes {sorted(missing)}")


_check_tables_cover_the_stored_codes()
