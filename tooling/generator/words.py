"""The generator's vocabulary: clearly fictional names, places and case-recording phrases.

Surnames are invented compounds (like cases/demo.py), streets and towns are invented, and every
postcode is in the ZZ area, which no real address uses. Nothing here names a real person.
"""

from __future__ import annotations

from itertools import accumulate


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SURNAME_HEADS = _words(
    "Amber Brack Cold Dun Elder Fenn Grey Hollow Ivy Juniper Kestrel Lark Mallow Nettle Oak Penny Quill Rook "
    "Sedge Thistle Under Vant Willow Yarrow Ash Birch Copper Dawn Ember Flint Glen Heron Inkle Jasper Kettle "
    "Linden Moss North Orchard Pebble Quarry Rush Salt Tarn Umber Vale Wren Yew Brook Clover Dale Fern Gorse "
    "Heath Marsh Reed Sorrel Teasel Whin Bramble"
)
_SURNAME_TAILS = _words(
    "by wick more ton stock well brook son field hurst wood dale moor ley worth ford ham holt combe shaw gate "
    "thorpe ridge stead croft bury mere wright low"
)
SURNAMES: tuple[str, ...] = tuple(h + t for t in _SURNAME_TAILS for h in _SURNAME_HEADS)
# Surnames are Zipf-distributed in real populations: the commonest holds about 1% of people.
SURNAME_CUM_WEIGHTS: tuple[float, ...] = tuple(accumulate(1 / (rank + 12) for rank in range(len(SURNAMES))))

CHILD_NAMES = _words(
    "Ava Noah Isla Leo Maya Theo Zara Ezra Ruby Kai Amira Finn Nia Omar Poppy Ravi Sana Tyler Esme Jayden "
    "Freya Arlo Lila Milo Aisha Rowan Eden Jude Iris Reuben Tia Ellis Nell Otis Skye Idris Lyra Caspar Mabel "
    "Zain Orla Felix Ada Hugo Lena Rafe Clio Bodhi Wren Ezio Hana Ned Suki Tobias Yara Dev Elif Ansel Mira Cal"
)
ADULT_NAMES = _words(
    "Sam Jo Alex Chris Dee Kim Lou Mo Pat Robin Shay Toni Bea Cass Dani Eli Frankie Gem Hal Jess Kit Lee Max "
    "Nat Ollie Quinn Ray Sid Terry Val Wyn Abi Bex Cory Dom Em Fran Gus Hetty Ivo Jem Kez Lol Mags Nico Pip "
    "Rory Sol Tam Viv Zed"
)
STAFF_FIRST = _words(
    "Adaeze Bronwen Callum Dafydd Eilidh Farida Gethin Hollis Imani Jorja Kieran Lowri Marnie Niamh Oisin "
    "Parveen Rhian Saoirse Tariq Ula Venetia Wilf Xanthe Yusuf Zofia"
)

TOWNS = (
    "Exampleton",
    "Northmere",
    "Southby Vale",
    "Eastcombe",
    "Westholt",
    "Lantern Cross",
    "Copperfield",
    "Heronsgate",
    "Marigold Green",
    "Saltmarsh",
    "Tinkerbury",
    "Oakhurst Park",
    "Fennimore",
    "Greystock",
    "Larkspur",
    "Willowby",
    "Yarrowdale",
    "Brackwater",
    "Coldharbour Rise",
    "Dunmorrow",
    "Elderwick",
    "Ivybrook",
    "Kestrelby",
    "Nettleton",
    "Pennywhistle",
)
STREETS = tuple(
    f"{a} {b}"
    for b in ("Row", "Way", "Close", "Terrace", "Lane", "Yard", "Road", "Crescent", "Walk", "Gardens")
    for a in ("Lantern", "Copperfield", "Heron", "Marigold", "Saltmarsh", "Tinker's", "Bramble", "Cobble",
              "Dovecote", "Foxglove", "Gannet", "Hazel", "Kingfisher", "Meadowsweet", "Otter", "Plover")
)  # fmt: skip
# Outward codes ZZ1..ZZ99 and inward codes: none exists in the real postcode system.
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

LANGUAGES = ("English",) * 17 + ("Polish", "Urdu", "Romanian", "Arabic", "Somali", "Portuguese", "Bengali")
ETHNICITY_CODES = ("WBRI",) * 12 + _words(
    "WIRI WOTH WROM MWBC MWBA MWAS MOTH AIND APKN ABAN AOTH BCRB BAFR BOTH CHNE OOTH NOBT REFU"
)
CONTACT_SOURCES = _words("1A 1B 1C 1D 2A 2B 3A 3B 3C 3D 3E 3F 4 5A 5B 5C 5D 6 7 8 9 10")

# Each agency with the job titles its own workers hold: a worker named for an agency has one of them.
AGENCY_ROLES: dict[str, tuple[str, ...]] = {
    "Oakhurst Primary School": ("Designated safeguarding lead", "Class teacher", "Head of pastoral care"),
    "Willowby Academy": ("Designated safeguarding lead", "Head of year", "Attendance officer"),
    "Heron Valley High School": ("Designated safeguarding lead", "Head of year", "School counsellor"),
    "Health visiting team": ("Health visitor", "Community nursery nurse"),
    "School nursing service": ("School nurse",),
    "Exampleton Medical Practice": ("GP", "Practice nurse"),
    "Neighbourhood police team": ("Police constable", "PCSO"),
    "Housing options": ("Housing officer", "Tenancy support worker"),
    "Young carers service": ("Young carers worker",),
    "Children and adolescent mental health service": ("Mental health practitioner", "Clinical psychologist"),
    "Domestic abuse support service": ("Independent domestic violence adviser", "Outreach worker"),
    "Youth justice service": ("Youth justice officer", "Youth worker"),
    "Adult substance misuse service": ("Recovery worker", "Substance misuse nurse"),
    "Jobcentre work coach": ("Work coach",),
    "Family hub nursery": ("Nursery key worker", "Nursery manager"),
    "Citizens advice": ("Debt adviser", "Benefits adviser"),
    "Maternity service": ("Midwife",),
}
AGENCIES = tuple(AGENCY_ROLES)
# The source code a contact from each kind of agency is recorded with (the front door's list).
AGENCY_SOURCES = {
    "Oakhurst Primary School": "2A",
    "Willowby Academy": "2A",
    "Heron Valley High School": "2A",
    "Health visiting team": "3B",
    "School nursing service": "3C",
    "Exampleton Medical Practice": "3A",
    "Neighbourhood police team": "6",
    "Housing options": "4",
    "Young carers service": "8",
    "Children and adolescent mental health service": "3F",
    "Domestic abuse support service": "8",
    "Youth justice service": "7",
    "Adult substance misuse service": "3D",
    "Jobcentre work coach": "8",
    "Family hub nursery": "2B",
    "Citizens advice": "8",
    "Maternity service": "3F",
}

PRESENTING_NEEDS = (
    "School report attendance below 80% this term and the child seems tired and withdrawn in class.",
    "Parent asked for help with a child's behaviour at home; siblings are arguing and there have been "
    "shouting incidents reported by neighbours.",
    "Health visitor concerned about the baby's weight gain and mum's low mood since the birth.",
    "Family facing eviction after rent arrears; living in one room with three children.",
    "Police attended a verbal domestic incident; children were present but not hurt.",
    "Young person missing from home twice overnight this month; returned of their own accord.",
    "Parent is a young carer's only adult at home and has been struggling with their own mental health.",
    "Nursery worried about speech and language delay and poor hygiene on arrival.",
    "Teen excluded for a fixed term after a fight; parent says they are not coping.",
    "Step-down from children's social care: plan ended, family would benefit from continued support.",
    "Parent disclosed alcohol use has increased since losing their job; children aged 4 and 9.",
    "Family recently arrived in the area; no GP or school place yet for the two younger children.",
)
DECISION_RATIONALES = {
    "allocate": "Needs across several areas; family consent to Early Help; allocate to the locality team.",
    "meeting": "Multi-agency picture unclear; take to the meeting so partners can agree who leads.",
    "single_agency": "School has agreed to support with attendance through its pastoral team.",
    "signpost": "Needs can be met by universal services; family given details of the family hub.",
    "no_further_action": "No unmet needs identified after checks with school and health.",
    "step_up": "Threshold for social care met: significant harm concerns; referred to duty and assessment.",
    "await_consent": "Early Help appropriate but consent not yet given; outcome letter and consent request sent.",
}

NOTE_OPENINGS = (
    "Visited the family at home.",
    "Met mum at the family hub.",
    "Phoned dad to check how the week went.",
    "Saw the children after school.",
    "Joint visit with the health visitor.",
    "Spoke to the school's safeguarding lead, then the family.",
    "Direct work session with the child using the three houses tool.",
    "Visit to review progress with the plan.",
)
NOTE_MIDDLES = (
    "The house was tidy and warm; the children were settled and playing.",
    "Mum said the morning routine is easier since the visual timetable went up.",
    "Dad has attended two of the parenting sessions and found them useful.",
    "Rent arrears are reducing after the budgeting appointment; a payment plan is in place.",
    "The child talked about worries at school and feeling left out at break times.",
    "Attendance this half term is up to 91%.",
    "There has been no further police involvement since the last visit.",
    "Parent's mood seems lower; GP appointment booked for next week.",
    "Sibling arguments continue in the evenings, mainly over screen time.",
    "The family has registered with a GP and the younger child has a nursery place.",
)
NOTE_ENDINGS = (
    "Agreed next steps with the family and updated the plan.",
    "Will follow up with school before the next visit.",
    "Next visit booked in two weeks.",
    "Shared the outcome with the lead professional's supervisor.",
    "No new safeguarding concerns.",
)
CHILD_VOICES = (
    "I like it when we have tea together.",
    "I don't like it when they shout.",
    "School is better now I sit with my friend.",
    "I want my own room.",
    "Mum is happier now.",
    "I get worried at night.",
    "My favourite thing is football on Saturdays.",
)
OUTCOME_DESCRIPTIONS = {
    "education": "The children attend school at least 95% of the time.",
    "early_years": "The youngest child's speech is on track for their age.",
    "health": "Parent is engaged with their GP and reports better sleep.",
    "substance": "Parent has reduced drinking and engages with the recovery service.",
    "relationships": "Fewer arguments at home; a calm evening routine most nights.",
    "safe": "The young person is not missing from home and knows who to call.",
    "crime": "No further police call-outs to the address.",
    "domestic_abuse": "Parent and children feel safe at home; safety plan in place.",
    "housing": "The family keeps its tenancy with arrears cleared.",
    "financial": "The family manages its budget and claims what it is entitled to.",
}
ACTIONS = (
    "Attend the parenting course at the family hub",
    "Apply for the household support fund",
    "Book a GP appointment about mood",
    "Meet with school about a reduced timetable",
    "Set up a morning routine chart",
    "Referral to the young carers service",
    "Budgeting session with the housing officer",
    "One-to-one sessions with the school counsellor",
)
DOCUMENT_TITLES = {
    "consent": "Signed consent form",
    "assessment": "Early Help assessment",
    "plan": "Minutes of the team around the family meeting",
    "letter": "Letter to the family",
    "agency": "School attendance report",
    "child": "Child's three houses drawing",
    "other": "Other document",
}
