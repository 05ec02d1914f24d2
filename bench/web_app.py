"""The benchmark's app: pg_fib's web front (web.create_app) plus two routes
served by the same Gunicorn workers and the same Nginx, to compare with:

- /bench/const: a constant Flask route, the floor of Flask under Gunicorn;
- /old/calculate/<n>: a replica of the old stack's cached path, a Flask
  route querying a table by n through a SQLAlchemy session (Debian's
  python3-sqlalchemy over psycopg2), answering its sentence.

bench/web.sh starts it as gunicorn 'bench.web_app:create_app()'.
"""

import os

from sqlalchemy import Column, Integer, Text, create_engine
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

from web import create_app as create_web_app

Base = declarative_base()


class OldFib(Base):
    """The old stack's table: one row per n it was asked."""
    __tablename__ = "old_fib"
    n = Column(Integer, primary_key=True)
    value = Column(Text, nullable=False)


def create_app():
    app = create_web_app()
    engine = create_engine(os.environ["BENCH_OLD_DATABASE_URL"], pool_size=4)
    session = scoped_session(sessionmaker(bind=engine))

    @app.get("/bench/const")
    def const():
        return {"n": "32", "value": "2178309"}

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
