"""Which version of the app Nginx's cache files an answer under.

Nginx's cache keys start with the version of the app they hold answers of
(deploy/run.sh computes it from the app's code and settings, fills it into
deploy/nginx.conf and gives it to the app as FIB_WEB_APP_VERSION), so that
an upgrade is never answered from the cache of the version before it.
Nginx sends its keys' version with every request (X-App-Version).

An upgrade starts the new app before Nginx takes the new keys: for that
moment, Nginx would file the new version's answers under the old one's
keys, where a rollback to the old version would find them.  So an answer to
a request whose X-App-Version is not this app's carries X-Accel-Expires: 0,
which tells Nginx not to store it (and which Nginx does not pass on: the
client sees the answer as always, Cache-Control included).  Without a
version of its own (the app not started by make run) or without the header
(no Nginx in front), nothing changes.
"""

HEADER = "X-App-Version"
_ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")
NOT_STORED = ("X-Accel-Expires", "0")


class AppVersion:
    """WSGI middleware: answers to another version's keys are not stored."""

    def __init__(self, app, version):
        self.app = app
        self.version = version

    def __call__(self, environ, start_response):
        sent = environ.get(_ENVIRON_KEY)
        if sent is None or sent == self.version:
            return self.app(environ, start_response)

        def not_for_the_cache(status, headers, exc_info=None):
            return start_response(status, [*headers, NOT_STORED], exc_info)

        return self.app(environ, not_for_the_cache)
