"""`record process` redacts a recording `record start` did not finish, and keeps the raw file only when asked."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from personaact.cli import app
from recorder.capture.redact import REDACTION, UNREDACTED
from tests.recorder.capture.test_redact import trace_folder


def test_process_redacts_first_and_keeps_the_raw_file_on_request(tmp_path):
    folder = trace_folder(tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["record", "process", str(folder), "--no-transcripts", "--keep-unredacted"])
    assert done.exit_code == 0, done.output
    assert "redacted first" in done.output
    capture = folder / "capture"
    assert json.loads((capture / REDACTION).read_text())["unredacted"] == UNREDACTED and (capture / UNREDACTED).is_file()
    again = runner.invoke(app, ["record", "process", str(folder), "--no-transcripts"])
    assert again.exit_code == 0 and "redacted first" not in again.output
    shown = runner.invoke(app, ["record", "process", "--help"])
    assert "--keep-unredacted" in shown.output
