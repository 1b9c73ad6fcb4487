"""axe runs once per page structure (ADR 0071): what it may skip, and what it must not.

Each pair below is a clean page and the same page with one thing axe's WCAG rules flag. The broken
page must have a different structure from the clean one, axe must pass the clean page and fail the
broken one, and seeing the clean page first must not let the broken one through. The pages are set
with `page.set_content`; no server is needed.
"""

from __future__ import annotations

import pytest

from tests.conftest import AxeChecks

pytestmark = pytest.mark.browser

CSS = """
.faint { color: #c8c8c8; }
.plain { color: #0b0c0c; }
.box { overflow: auto; height: 3em; width: 20em; }
"""


def html(body: str, *, lang: str = "en", title: str = "A case", head: str = "") -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style>{head}</head>'
        f'<body><a href="#main">Skip to main content</a><main id="main"><h1>The Ashdown household</h1>{body}'
        "</main></body></html>"
    )


IMAGE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

# (what axe flags, the clean page, the broken page)
PAIRS = [
    ("image-alt", html(f'<img src="{IMAGE}" alt="Attendance chart">'), html(f'<img src="{IMAGE}">')),
    ("link-name", html('<a href="/episodes/12/">Read the plan</a>'), html('<a href="/episodes/12/"></a>')),
    ("button-name", html("<button>Save record</button>"), html("<button> </button>")),
    (
        "label",
        html('<label for="id_details">Details</label><input id="id_details" name="details">'),
        html('<label for="id_detail">Details</label><input id="id_details" name="details">'),
    ),
    (
        "label",  # a label that names an id nothing has
        html('<input aria-labelledby="id_age_label"><span id="id_age_label">Age</span>'),
        html('<input aria-labelledby="id_age_label"><span id="id_age">Age</span>'),
    ),
    (
        "color-contrast",
        html('<p class="plain">Mornings are still hard.</p>'),
        html('<p class="faint">Mornings are still hard.</p>'),
    ),
    (
        "color-contrast",
        html('<p style="color: #0b0c0c">Mornings are still hard.</p>'),
        html('<p style="color: #dddddd">Mornings are still hard.</p>'),
    ),
    ("html-lang-valid", html("<p>Hello</p>"), html("<p>Hello</p>", lang="zz-notalanguage")),
    ("document-title", html("<p>Hello</p>"), html("<p>Hello</p>", title=" ")),
    (
        "aria-hidden-focus",
        html('<div aria-hidden="true"><span>Decoration</span></div>'),
        html('<div aria-hidden="true"><a href="/x">Decoration</a></div>'),
    ),
    ("list", html("<ul><li>School</li></ul>"), html("<ul>Needs:<li>School</li></ul>")),
    (
        "label-content-name-mismatch",
        html('<button aria-label="Save record for the family">Save record</button>'),
        html('<button aria-label="Submit">Save record</button>'),
    ),
    (
        "scrollable-region-focusable",
        html('<div class="box">One line.</div>'),
        html('<div class="box">' + "A long note about the week that will not fit. " * 30 + "</div>"),
    ),
]


def structure(page, content: str) -> str:
    page.set_content(content)
    return AxeChecks().structure(page)["signature"]


@pytest.mark.parametrize(("rule", "clean", "broken"), PAIRS, ids=[f"{i}-{p[0]}" for i, p in enumerate(PAIRS)])
def test_a_page_axe_flags_differs_in_structure_and_is_caught_after_its_clean_twin(page, rule, clean, broken):
    checks = AxeChecks()
    page.set_content(clean)
    checks.check(page)
    assert checks.runs == 1
    clean_signature = checks.structure(page)["signature"]

    page.set_content(broken)
    assert checks.structure(page)["signature"] != clean_signature
    with pytest.raises(AssertionError, match=rule):
        checks.check(page)
    assert checks.runs == 2
    # A failing structure is not remembered: the next visit runs axe again and fails again.
    with pytest.raises(AssertionError, match=rule):
        checks.check(page)
    assert checks.runs == 3


def test_pages_that_differ_only_in_words_ids_and_urls_share_a_structure_and_axe_runs_once(page):
    def case_page(name: str, pk: int, token: str) -> str:
        return html(
            f'<form method="post" action="/episodes/{pk}/notes/new/">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
            f'<label for="id_child_{pk}_needs">{name} needs</label><textarea id="id_child_{pk}_needs" '
            f'name="child_{pk}_needs" aria-describedby="id_child_{pk}_hint"></textarea>'
            f'<p id="id_child_{pk}_hint">What {name} needs now</p>'
            f'<a href="/families/{pk}/">{name}</a> <button>Save record</button></form>',
            title=f"{name}: record a visit",
            head=f'<meta name="csrf-token" content="{token}"><script nonce="{token}">let x = {pk};</script>',
        )

    checks = AxeChecks()
    page.set_content(case_page("The Ashdown household", 12, "a1b2c3"))
    checks.check(page)
    page.set_content(case_page("The Birchwood household, Sam", 4071, "zz99yy88"))
    checks.check(page)
    assert (checks.runs, checks.skipped) == (1, 1)


def test_anything_axe_could_read_differently_is_a_different_structure(page):
    base = html('<a href="#notes">Notes</a><h2 id="notes" class="govuk-heading-m">Notes</h2><input type="text">')
    variants = [
        base.replace('class="govuk-heading-m"', 'class="govuk-heading-s"'),  # contrast and size
        base.replace("<h2 ", "<h2 hidden "),  # visibility
        base.replace('type="text"', 'type="email"'),
        base.replace('<input type="text">', '<input type="text" tabindex="-1">'),
        base.replace('href="#notes"', 'href="#nowhere"'),  # an in-page link to nothing
        base.replace('<input type="text">', '<input type="text" autocomplete="bogus">'),
        base.replace('<input type="text">', '<input type="text" role="button">'),
        base.replace('lang="en"', 'lang="fr"'),
        base.replace('id="notes"', 'id="main"'),  # a duplicated id
        base.replace("<input ", '<input id="notes" '),  # another
        base.replace(">Notes</a>", "></a>"),  # a link without text
        base.replace(">Notes</h2>", ">.</h2>"),  # a heading of punctuation only
    ]
    signatures = {structure(page, content) for content in [base, *variants]}
    assert len(signatures) == 1 + len(variants)

    page.set_content(base)
    before = AxeChecks().structure(page)["signature"]
    page.set_viewport_size({"width": 320, "height": 640})  # media queries
    assert AxeChecks().structure(page)["signature"] != before
    page.locator("input").focus()  # focus styles
    focused = AxeChecks().structure(page)["signature"]
    page.locator("input").fill("typed")  # form state
    assert len({before, focused, AxeChecks().structure(page)["signature"]}) == 3


def test_pages_with_frames_or_media_are_always_checked(page):
    checks = AxeChecks()
    content = html('<iframe title="The letter" srcdoc="<p>Dear Ms Parent</p>"></iframe>')
    for _ in range(2):
        page.set_content(content)
        checks.check(page)
    assert (checks.runs, checks.skipped) == (2, 0)


def test_every_page_mode_runs_axe_on_every_page(page):
    checks = AxeChecks(every_page=True)
    for _ in range(2):
        page.set_content(html("<p>Hello</p>"))
        checks.check(page)
    assert (checks.runs, checks.skipped) == (2, 0)


def test_the_govuk_conditional_radio_is_still_let_through_and_only_that(page):
    radios = (
        '<div class="govuk-radios" data-module="govuk-radios"><div class="govuk-radios__item">'
        '<input class="govuk-radios__input" id="r1" name="r" type="radio" value="a" aria-controls="c1" '
        'aria-expanded="false"{extra}><label class="govuk-label govuk-radios__label" for="r1">Yes</label></div>'
        '<div class="govuk-radios__conditional" id="c1"><p>More</p></div></div>'
    )
    checks = AxeChecks()
    page.set_content(html(radios.format(extra="")))
    checks.check(page)
    page.set_content(html(radios.format(extra=' aria-pressed="true"')))
    with pytest.raises(AssertionError, match="aria-allowed-attr"):
        checks.check(page)
