"""Signed-cookie sessions only where someone signs in (the console and the API it calls).

Flask opens the session of every request, which builds a signing serializer each time: a real
share of a collector request's cost, for a cookie the collector never reads.
"""

from flask.sessions import SecureCookieSessionInterface

SIGNED_IN_PREFIXES = ("/console", "/api/", "/rules", "/reports")  # the rules editor and the reports: same sign-in


class ConsoleSessions(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if not request.path.startswith(SIGNED_IN_PREFIXES):
            return self.null_session_class()
        return super().open_session(app, request)
