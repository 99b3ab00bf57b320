"""A pytest plugin (registered as ``pytest11`` by ridni-dev): a skipped test fails the run.

Every test of the project can run on a fresh machine (``bash bin/test`` installs what they need, the
browser included), so a skip means the set-up is incomplete, and the run must not pass as if the test
had. Expected failures (``xfail``) are not skips. No test is allowed to skip.
"""

from __future__ import annotations

import pytest

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason.removeprefix('Skipped: ')}")


def pytest_terminal_summary(terminalreporter) -> None:
    if _skipped:
        terminalreporter.section("skipped tests fail this run", red=True)
        terminalreporter.write_line("a skip is a set-up that is not done (bash bin/test installs what tests need):")
        for line in _skipped:
            terminalreporter.write_line(line)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
