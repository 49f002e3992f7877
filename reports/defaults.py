"""Settings of the reports, with why each has its value."""

# Fewer sessions than this in either group (contacted, held out) and the uplift says "not enough data yet":
# with fewer, a single purchase moves a group's rate by several points and the interval's normal
# approximation (Wilson's score) is at its weakest.
UPLIFT_MIN_SESSIONS = 30
# An interval for the difference in conversion wider than this (0.4 = 40 points) says "not enough data yet":
# "somewhere between -15 and +25 points" cannot tell a product owner whether contact pays.
UPLIFT_MAX_WIDTH = 0.4
