"""Redis keys the rules stage owns."""

CURRENT = "hr:rules"  # hash: version, yaml, author, saved_at: the rules in force
HISTORY = "hr:rules:history"  # list of JSON {version, yaml, author, saved_at}, newest first
CONTACTS = "hr:contacts:{{{shopper}}}"  # sorted set: "<verdict>:<decision id>" -> ms, a shopper's last week
HELD_OUT = "hr:rules:held-out"  # hash: rule id -> times it would have fired for a holdout shopper
DECISIONS = "hr:decisions"  # stream: every admitted decision, contacted or held out (rules.policy)
DO_NOT_CONTACT = "hr:do-not-contact"  # set: ids, emails and phones never to be contacted (rules.policy)
SAVES = "hr:rules:saves"  # hash: "<channel>:tried" / "<channel>:saved" -> contacted sessions (rules.outcomes)
# hash per epoch hour, and per day (reports.hours): fired|<rule>|<channel>, held|<rule>|<channel> (rules.policy,
# by the hour decided); contacted|<rule>, contacted_won|<rule>, contacted_revenue|<rule> and the same for holdout
# (rules.outcomes, by the hour the session ended, for the first rule that fired on it): what the uplift report reads
REPORT = "hr:rules:report:{hour}"


def contacts(shopper: str) -> str:
    return CONTACTS.format(shopper=shopper)
