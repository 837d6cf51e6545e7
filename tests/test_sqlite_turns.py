"""SQLite writers take turns through a lock file; readers neither wait nor write."""

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from connector.db import UnitOfWork, make_engine, session_factory


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield session_factory(engine)
    engine.dispose()


def test_a_writer_waits_for_the_turn_and_goes_the_moment_it_is_given_up(sessions):
    order = []
    holding = threading.Event()

    def first():
        with UnitOfWork(sessions) as uow:
            uow.session.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            time.sleep(0.3)
            order.append("first commits")
            uow.commit()

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with UnitOfWork(sessions) as uow:  # its transaction begins only once the first has committed
        order.append(f"second sees {uow.session.scalar(text('SELECT count(*) FROM t'))}")
        uow.session.execute(text("INSERT INTO t VALUES (2)"))
        uow.commit()
    thread.join(5)
    assert order == ["first commits", "second sees 1"]


def test_a_reader_does_not_wait_for_a_writer_and_may_not_write(sessions):
    with UnitOfWork(sessions) as writer:
        writer.session.execute(text("INSERT INTO t VALUES (1)"))
        with UnitOfWork(sessions).reading() as reader:
            assert reader.session.scalar(text("SELECT count(*) FROM t")) == 0  # its snapshot
            with pytest.raises(OperationalError, match="readonly"):
                reader.session.execute(text("INSERT INTO t VALUES (2)"))
        writer.commit()
    uow = UnitOfWork(sessions)
    with uow.reading():
        assert uow.session.scalar(text("SELECT count(*) FROM t")) == 1
    with uow:  # the same unit of work writes again once it is not reading
        uow.session.execute(text("INSERT INTO t VALUES (3)"))
        uow.commit()
    with UnitOfWork(sessions) as uow:
        assert uow.session.scalar(text("SELECT count(*) FROM t")) == 2
