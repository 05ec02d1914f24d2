"""A replica of the old stack's cached path, the one pg_fib's web front
replaces: a Flask route querying a table by n through a SQLAlchemy session
(Debian's python3-sqlalchemy over psycopg2, the C driver), answering its
sentence in text/plain.  No middleware: the old stack had none.

bench/web.sh runs it as a Gunicorn app of its own (deploy/gunicorn.conf.py,
behind the same Nginx as pg_fib's app), with BENCH_OLD_DATABASE_URL set:

    gunicorn --config deploy/gunicorn.conf.py 'bench.web_old:create_app()'

GET /old/calculate/<n> reads the row of n in old_fib (n integer primary key,
value text), which bench/web.sh fills.
"""

import os

from flask import Flask
from sqlalchemy import Column, Integer, Text, create_engine
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

Base = declarative_base()


class OldFib(Base):
    """The old stack's table: one row per n it was asked."""
    __tablename__ = "old_fib"
    n = Column(Integer, primary_key=True)
    value = Column(Text, nullable=False)


def create_app():
    app = Flask(__name__)
    engine = create_engine(os.environ["BENCH_OLD_DATABASE_URL"], pool_size=4)
    session = scoped_session(sessionmaker(bind=engine))

    @app.get("/old/calculate/<int:n>")
    def old_calculate(n):
        row = session.query(OldFib).filter_by(n=n).first()
        if row is None:
            return "not cached", 404
        return f"you entered {n} which has an existing Fibonacci number of {row.value}"

    @app.teardown_appcontext
    def remove_session(exc=None):
        session.remove()

    return app
