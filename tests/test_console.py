import logging

from rich.console import Console

from estates import console


def test_progress_is_silent_when_not_a_terminal(capsys):
    with console.progress("working", enabled=False):
        logging.getLogger("estates").info("a stage")
    assert capsys.readouterr().err == ""


def test_progress_shows_the_latest_stage(monkeypatch):
    seen = []

    class Status:
        def update(self, text):
            seen.append(text)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(Console, "status", lambda self, text, spinner: Status())
    logger = logging.getLogger("estates")
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        with console.progress("working", enabled=True):
            logger.info("joined 101 sites")
    finally:
        logger.setLevel(old)
    assert seen == ["[bold]estates[/bold]: joined 101 sites"]
    assert not any(isinstance(h, console._StatusHandler) for h in logger.handlers)
