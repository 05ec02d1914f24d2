"""The bare Flask route: the floor of Flask under Gunicorn, to compare
pg_fib's web front with (bench/web.sh runs it as a Gunicorn app of its own,
with deploy/gunicorn.conf.py, behind the same Nginx).

GET /bare/<n> answers a constant JSON body, whatever n is: the path has the
shape of /api/v1/fib/<n> so that wrk asks for both the same way
(bench/cycle.lua), and Werkzeug matches a rule with a converter for both.
GET /bare2k/<n> answers a constant body as long as /api/v1/fib/10000's
(2090 digits), to tell what a memo hit costs Nginx and wrk for its size.

    gunicorn --config deploy/gunicorn.conf.py 'bench.web_bare:create_app()'
"""

from flask import Flask

# As long as F(10000) and its JSON, digits all 1.
_LONG = {"n": "10000", "digits": "2090", "negative": False, "source": "memo",
         "value": "1" * 2090}


def create_app():
    app = Flask(__name__)

    @app.get("/bare/<n>")
    def bare(n):
        return {"n": "32", "value": "2178309"}

    @app.get("/bare2k/<n>")
    def bare2k(n):
        return _LONG

    return app
