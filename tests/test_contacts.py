"""Phone numbers and emails in one canonical form (dispatch/contacts.py)."""

import pytest

from dispatch import contacts


@pytest.mark.parametrize("typed", ["+44 20 7946 0958", "020 7946 0958", "(020) 7946-0958", "0044 20 7946 0958",
                                   "+44 (0)20 7946 0958", "tel:+44-20-7946-0958"])
def test_a_london_number_is_one_number_however_it_is_typed(typed):
    assert contacts.phone(typed, "GB") == "+442079460958"


def test_a_national_number_belongs_to_the_region_given():
    assert contacts.phone("030 901820", "DE") == "+4930901820"
    assert contacts.phone("(415) 555-2671", "us") == "+14155552671"


@pytest.mark.parametrize("typed, why", [("call me", "not a number"), ("12", "not a possible phone number"),
                                        ("+999 1234567", "unknown country code")])
def test_what_is_not_a_number_says_why(typed, why):
    with pytest.raises(contacts.BadContact, match=why):
        contacts.phone(typed, "GB")


def test_email_is_trimmed_and_lower_cased_and_checked_for_shape():
    assert contacts.email("  Ann.Lee@Example.COM ") == "ann.lee@example.com"
    for bad in ("ann", "ann@", "@example.com", "ann@example", "ann lee@example.com"):
        with pytest.raises(contacts.BadContact, match="is not an email address"):
            contacts.email(bad)


def test_traits_that_are_not_contacts_are_left_out_rather_than_refused():
    assert contacts.phone_or_none("n/a", "GB") is None and contacts.email_or_none("n/a") is None
    assert contacts.phone_or_none("020 7946 0958", "GB") == "+442079460958"
