"""The defaults section (rules/settings.py): budgets, hours, currency and channel costs, each checked."""

import pytest

from rules.document import RulesError, compile_text


def settings(text: str):
    return compile_text(f"defaults:\n{text}rules: []\n").settings


def errors_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        compile_text(f"defaults:\n{text}rules: []\n")
    return caught.value.lines("rules.yaml")


def test_left_out_settings_take_their_defaults():
    """No defaults: 30m cooldown, 10 % holdout, 1/2/3 contacts, quiet 21:00-09:00, no business hours."""
    found = compile_text("rules: []\n").settings
    assert (found.cooldown, found.holdout) == (1800, 0.1)
    assert (found.contacts.session, found.contacts.day, found.contacts.week) == (1, 2, 3)
    assert found.quiet_hours.describe() == "21:00-09:00" and found.business_hours is None
    assert found.currency == "EUR" and found.channels["call"].save_rate == 0.25


def test_every_setting_as_a_product_owner_writes_it():
    found = settings(
        "  contacts: {session: 2, week: 5}\n"
        "  quiet_hours: '20:00-08:30'\n"
        "  business_hours: {days: mon-sat, hours: '08:00-20:00', timezone: Europe/Madrid}\n"
        "  currency: GBP\n"
        "  channels:\n"
        "    call: {cost: 9.5, save_rate: 0.4, handle_time: 10m}\n"
    )
    assert (found.contacts.session, found.contacts.day, found.contacts.week) == (2, 2, 5)
    assert found.quiet_hours.describe() == "20:00-08:30"
    assert found.business_hours.describe() == "08:00-20:00 Europe/Madrid"
    assert found.currency == "GBP"
    call = found.channels["call"]
    assert (call.cost, call.save_rate, call.handle_time) == (9.5, 0.4, 600)
    assert found.channels["chat"].cost == 2.0  # untouched channels keep their priors


def test_quiet_hours_and_business_hours_can_be_turned_off():
    found = settings("  quiet_hours: none\n  business_hours: always\n")
    assert found.quiet_hours is None and found.business_hours is None


def test_each_bad_setting_is_reported_on_its_line():
    assert errors_of(
        "  contacts: {session: -1, month: 3}\n"
        "  quiet_hours: 9pm-8am\n"
        "  business_hours: {days: weekdays, hours: '09:00-18:00', timezone: Mars/Olympus}\n"
        "  currency: euro\n"
        "  channels:\n"
        "    fax: {cost: 1}\n"
        "    call: {cost: -2, save_rate: 34, handle_time: long, colour: red}\n"
    ) == sorted([  # in line order, then alphabetical
        "rules.yaml:2: 'session' must be a whole number of contacts, 0 or more, got -1",
        "rules.yaml:2: 'contacts' has no setting 'month': allowed are session, day, week",
        "rules.yaml:3: 'quiet_hours' hours must be a span like 09:00-18:00, got '9pm-8am'",
        "rules.yaml:4: 'business_hours' days must be like mon-fri or sat,sun, got 'weekdays'",
        "rules.yaml:4: 'timezone' must be a time zone name like Europe/Berlin, got 'Mars/Olympus'",
        "rules.yaml:5: 'currency' must be a three-letter code like EUR, got 'euro'",
        "rules.yaml:7: unknown channel 'fax': allowed are chat, call, callback, email, sms, webhook",
        "rules.yaml:8: 'call' has no setting 'colour': allowed are cost, save_rate, handle_time",
        "rules.yaml:8: 'cost' must be a number, 0 or more, in the shop's currency, got -2",
        "rules.yaml:8: 'handle_time' must be a duration like 8m, got 'long'",
        "rules.yaml:8: 'save_rate' must be a share from 0 to 1, like 0.25, got 34",
    ])
