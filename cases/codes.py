"""Department for Education code lists, used as stored values so returns need no mapping.

Sources: the Children in Need census guide (contact / referral source codes, ethnicity
codes) and Ofsted's Annex A specification for the sex codes it asks for.
"""

from __future__ import annotations

# CIN census / Annex A referral source codes.
CONTACT_SOURCES = [
    ("1A", "Individual – family member, relative or carer"),
    ("1B", "Individual – acquaintance (including neighbours and child minders)"),
    ("1C", "Individual – self"),
    ("1D", "Individual – other, including strangers, MPs and councillors"),
    ("2A", "Schools"),
    ("2B", "Education services"),
    ("3A", "Health services – GP"),
    ("3B", "Health services – health visitor"),
    ("3C", "Health services – school nurse"),
    ("3D", "Health services – other primary health services"),
    ("3E", "Health services – A&E (emergency department)"),
    ("3F", "Health services – other (secondary health services)"),
    ("4", "Housing (local authority housing or housing association)"),
    ("5A", "LA services – social care (e.g. adults social care)"),
    ("5B", "LA services – other internal departments"),
    ("5C", "LA services – external (e.g. from another local authority's social care)"),
    ("5D", "LA services – early help"),
    ("6", "Police"),
    ("7", "Other legal agency (courts, probation, immigration, CAFCASS, prison)"),
    ("8", "Other (children's centres, independent agency providers, voluntary organisations)"),
    ("9", "Anonymous"),
    ("10", "Unknown"),
]

# DfE ethnicity codes (CIN census and school census main codes).
ETHNICITIES = [
    ("WBRI", "White – British"),
    ("WIRI", "White – Irish"),
    ("WIRT", "White – Traveller of Irish heritage"),
    ("WOTH", "White – any other White background"),
    ("WROM", "White – Gypsy / Roma"),
    ("MWBC", "Mixed – White and Black Caribbean"),
    ("MWBA", "Mixed – White and Black African"),
    ("MWAS", "Mixed – White and Asian"),
    ("MOTH", "Mixed – any other mixed background"),
    ("AIND", "Asian or Asian British – Indian"),
    ("APKN", "Asian or Asian British – Pakistani"),
    ("ABAN", "Asian or Asian British – Bangladeshi"),
    ("AOTH", "Asian or Asian British – any other Asian background"),
    ("BCRB", "Black or Black British – Caribbean"),
    ("BAFR", "Black or Black British – African"),
    ("BOTH", "Black or Black British – any other Black background"),
    ("CHNE", "Chinese"),
    ("OOTH", "Any other ethnic group"),
    ("REFU", "Refused"),
    ("NOBT", "Information not yet obtained"),
]

# Annex A sex codes.
SEXES = [
    ("M", "Male"),
    ("F", "Female"),
    ("U", "Unknown"),
    ("I", "Indeterminate"),
]
