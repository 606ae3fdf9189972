"""`flagramp report …` through the Typer app, on the VAOS run's record and a
SQLite store holding its windows."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from flagramp.cli.app import app
from flagramp.reports import find_placeholders
from flagramp.store.windows import WindowStore
from tests.cli.conftest import Invoke, assert_one_error
from tests.reports.vaos_run import RUN, START, vaos_run

#: After phase I (three stages): a short report, quick to chart.
EARLY = (START + dt.timedelta(hours=2)).isoformat()


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A database holding the run's windows, and the run's record: made once."""
    folder = tmp_path_factory.mktemp("report-cli")
    url = f"sqlite:///{folder / 'windows.db'}"
    run = vaos_run()
    store = WindowStore.open(url)
    try:
        for flag, windows in run.windows.by_flag.items():
            store.add_batch(RUN, f"sim-{flag}", windows)
    finally:
        store.engine.dispose()
    path = folder / "run.json"
    path.write_text(json.dumps(run.record.to_json()), encoding="utf-8")
    return url, path


@pytest.fixture
def cli(stored: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("FLAGRAMP_DATABASE_URL", stored[0])
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        # The windows are under the run's own id, as simulated: not in the
        # engine's per-attempt scopes.
        return runner.invoke(app, [*args, "--scopes", "run"], catch_exceptions=False)

    return invoke


@pytest.fixture
def record(stored: tuple[str, Path]) -> Path:
    return stored[1]


def test_show_writes_a_self_contained_html_report(
    cli: Invoke, record: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = cli("report", "show", RUN, "--record", str(record), "--out", str(out),
                 "--as-of", EARLY)  # fmt: skip
    assert result.exit_code == 0, result.output
    page = (out / f"{RUN}.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and not re.search(r"(?:src|href)=\"https?://", page)
    assert find_placeholders(page, html=True) == ()
    assert "Phase I: va_online_scheduling_facilities_service_v2" in page


def test_show_writes_markdown_with_its_charts_beside_it(
    cli: Invoke, record: Path, tmp_path: Path
) -> None:
    result = cli("report", "show", RUN, "--record", str(record), "--format", "md",
                 "--out", str(tmp_path), "--as-of", EARLY)  # fmt: skip
    assert result.exit_code == 0, result.output
    text = (tmp_path / f"{RUN}.md").read_text(encoding="utf-8")
    charts = sorted(p.name for p in (tmp_path / f"{RUN}-charts").iterdir())
    assert "rollout.svg" in charts
    assert f"]({RUN}-charts/rollout.svg)" in text
    assert find_placeholders(text) == ()


def test_kpi_before_and_after_the_checkpoint(cli: Invoke, record: Path) -> None:
    run = vaos_run()
    before = cli("report", "kpi", RUN, "--record", str(record), "--checkpoint", "1w",
                 "--json", "--as-of", run.ended_at.isoformat())  # fmt: skip
    assert before.exit_code == 0, before.output
    doc = json.loads(before.stdout)
    assert doc["reached"] is False
    assert doc["kpis"][0]["actual"].startswith("not reached yet: due ")
    later = (run.live_at + dt.timedelta(days=8)).isoformat()
    after = cli("report", "kpi", RUN, "--record", str(record), "--checkpoint", "1w",
                "--json", "--as-of", later)  # fmt: skip
    doc = json.loads(after.stdout)
    assert doc["reached"] is True and doc["unique_users"] > 0
    errors = next(k for k in doc["kpis"] if k["metric"] == "error_rate")
    assert isinstance(errors["actual"], float) and errors["met"] is True
    table = cli("report", "kpi", RUN, "--record", str(record), "-c", "1w",
                "--as-of", later)  # fmt: skip
    assert "VAOS service error rate" in table.stdout and "met" in table.stdout


def test_incident_prints_its_timeline_and_root_cause(cli: Invoke, record: Path) -> None:
    result = cli("report", "incident", RUN, "I1", "--record", str(record))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("### Incident I1: critical, criterion (errors)")
    assert "Root cause: Expired VAOS service credentials" in result.stdout
    assert "rolled back" in result.stdout


def test_unknown_incident_and_checkpoint_are_one_line_errors(
    cli: Invoke, record: Path
) -> None:
    assert_one_error(
        cli("report", "incident", RUN, "I9", "--record", str(record)),
        "run vaos-1 has incidents: I1",
    )
    assert_one_error(
        cli(
            "report",
            "kpi",
            RUN,
            "--record",
            str(record),
            "--scopes",
            "run",
            "--checkpoint",
            "2w",
        ),
        "the plan has 1w, 1mo",
    )


def test_windows_are_read_in_the_engines_scopes_by_default(
    stored: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAGRAMP_DATABASE_URL", stored[0])
    args = ["report", "kpi", RUN, "--record", str(stored[1]), "-c", "1w", "--json"]
    later = (vaos_run().live_at + dt.timedelta(days=8)).isoformat()
    result = CliRunner().invoke(app, [*args, "--as-of", later])
    # Nothing is stored in the engine's go-live scope: no data, said in words.
    assert json.loads(result.stdout)["unique_users"] == "no data in the windows"


def test_a_run_in_the_run_store_is_read_from_it(cli: Invoke) -> None:
    assert_one_error(cli("report", "incident", "R404", "I1"), "no run 'R404'")


def test_a_record_of_another_run_is_refused(cli: Invoke, record: Path) -> None:
    assert_one_error(
        cli("report", "show", "R7", "--record", str(record)),
        "holds run 'vaos-1', not 'R7'",
    )


def test_show_reads_a_run_from_the_run_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAGRAMP_DATABASE_URL", f"sqlite:///{tmp_path / 'runs.db'}")
    runner = CliRunner()
    plan = Path(__file__).parents[2] / "examples" / "vaos-service-integration.yaml"
    started = runner.invoke(
        app, ["plan", "start", str(plan), "--as", "vaos-eng-lead@va.gov"]
    )
    assert started.exit_code == 0, started.output
    signed = runner.invoke(
        app, ["run", "sign", "R1", "1", "--as", "hsrm-team@va.gov", "-m", "HSRM live"]
    )
    assert signed.exit_code == 0, signed.output
    shown = runner.invoke(
        app, ["report", "show", "R1", "--format", "md", "--out", str(tmp_path)]
    )
    assert shown.exit_code == 0, shown.output
    text = (tmp_path / "R1.md").read_text(encoding="utf-8")
    assert "- [x] HSRM is launched" in text and "“HSRM live”" in text
    assert "- [ ] VAOS Service is launched and live in Production" in text
    assert "not signed yet — VAOS Service team (vaos-service-team@va.gov)" in text
    assert find_placeholders(text) == ()
