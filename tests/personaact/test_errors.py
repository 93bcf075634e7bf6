"""The root command: known errors are one `error:` line with exit code 2 (traceback with -v), help reads plainly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import click.testing
import pytest
import typer

from personaact.cli import app, error_line, hoist_verbose, tidy_help
from recorder.store import HEADER_FILE, write_trace
from tests.builders import make_trace

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "personaact", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def test_verbose_is_accepted_anywhere_before_a_double_dash():
    assert hoist_verbose(["trace", "show", "x", "-v"]) == (["-v", "trace", "show", "x"], 1)
    assert hoist_verbose(["-v", "trace", "-vv", "x"]) == (["-vvv", "trace", "x"], 3)
    assert hoist_verbose(["trace", "--", "-v"]) == (["trace", "--", "-v"], 0)


def test_error_lines_are_one_line_and_name_the_file():
    assert error_line(ValueError("a\n  b\n")) == "a; b"
    assert error_line(FileNotFoundError(2, "No such file or directory", "x.yaml")) == \
        "[Errno 2] No such file or directory: 'x.yaml'"


@pytest.mark.timeout(300)
def test_corrupt_checkpoint_is_one_line_and_v_after_the_subcommand_shows_the_traceback(tmp_path):
    (tmp_path / "config.yaml").write_text("steps: 1\n")  # a sandbox run folder whose checkpoint is corrupt
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "arrays.npz").write_bytes(b"")
    (tmp_path / "checkpoint" / "state.json").write_bytes(b"garbage\n")
    quiet = _run("sandbox", "run", "--resume", "--out", str(tmp_path), "--steps", "1")
    assert quiet.returncode == 2, quiet.stderr
    lines = [line for line in quiet.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "state.json" in lines[0], quiet.stderr
    loud = _run("sandbox", "run", "--resume", "--out", str(tmp_path), "--steps", "1", "-v")
    assert loud.returncode == 2 and "Traceback" in loud.stderr and "state.json" in loud.stderr


def test_unreadable_trace_is_a_one_line_error(tmp_path):
    write_trace(tmp_path / "t", make_trace())
    (tmp_path / "t" / HEADER_FILE).write_bytes("{}".encode("utf-16"))
    result = _run("trace", "show", "--steps", str(tmp_path / "t"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "trace.json" in result.stderr and "UTF-16" in result.stderr


def test_make_and_the_demo_default_to_the_shipped_sample_data():
    makefile = (REPO / "Makefile").read_text()
    assert "DATA ?= data/personaact_raw" in makefile and "../shared" not in makefile
    assert "ruff check" in makefile and "mypy" in makefile
    from personaact.demo import DEFAULT_DATA

    assert (REPO / DEFAULT_DATA).resolve() == (REPO / "data" / "personaact_raw").resolve()
    assert (REPO / "data" / "personaact_raw" / "LICENSE").is_file()
    assert (REPO / "data" / "personaact_raw" / "SOURCE.md").is_file()
    assert "Apache License" in (REPO / "LICENSE").read_text()


def _commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_help_is_plain_with_help_texts_and_defaults():
    command = tidy_help(typer.main.get_command(app))
    runner = click.testing.CliRunner()
    for path, sub in _commands(command):
        for param in sub.params:
            if param.name in ("install_completion", "show_completion"):
                continue
            assert param.help, ("no help text", path, param.name)
            if param.param_type_name == "option" and not param.is_flag and not param.count:
                assert param.show_default not in (False, None) or param.default is not None, ("no default", path, param.name)
        result = runner.invoke(command, [*path, "--help"], env={"COLUMNS": "200"}, prog_name="personaact")
        assert result.exit_code == 0, (path, result.output)
        for placeholder in ("<list[", "<path>", "<str>", "<int>", "<float>", "<bool>"):
            assert placeholder not in result.output, (path, placeholder)
        usage = next(line for line in result.output.splitlines() if "Usage:" in line)
        assert "{" not in usage, (path, usage)


def test_the_command_line_starts_without_heavy_libraries():
    """`personaact --help` must stay fast: torch, pandas and friends load inside the commands that use them."""
    probe = "import sys, personaact.cli; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO,
                                check=True).stdout.split())
    heavy = {"torch", "pandas", "transformers", "trl", "peft", "datasets", "cv2", "matplotlib", "ray", "av", "pyarrow"}
    assert not heavy & loaded, sorted(heavy & loaded)


def test_library_warnings_stay_off_stderr_unless_verbose():
    code = ("import warnings, sys; from personaact.cli import quiet_libraries; "
            "quiet_libraries() if '-v' not in sys.argv else None; "
            "warnings.warn('noisy', FutureWarning); warnings.warn('noisy', DeprecationWarning)")
    quiet = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, cwd=REPO)
    loud = subprocess.run([sys.executable, "-W", "default", "-c", code, "-v"], capture_output=True, text=True, cwd=REPO)
    assert "noisy" not in quiet.stderr and "FutureWarning" in loud.stderr


def _non_utf8(path: Path) -> Path:
    path.write_bytes(b"\xff\xfe" + "key: value\n".encode("utf-16-le"))
    return path


def test_non_utf8_input_files_are_named_errors(tmp_path):
    from personas.interview.outline import load_outline
    from personas.interview.transcript import TranscriptStore
    from personas.persona import load_persona
    from recorder.config import read_yaml_mapping
    from recorder.errors import PersonaActError
    from recorder.taxonomy import load_taxonomy

    loaders = [read_yaml_mapping, load_outline, load_taxonomy, load_persona]
    for number, loader in enumerate(loaders):
        bad = _non_utf8(tmp_path / f"bad{number}.yaml")
        with pytest.raises(PersonaActError, match=f"bad{number}.yaml"):
            loader(bad)
    store = TranscriptStore(tmp_path / "iv")
    store.folder.mkdir()
    store.events_path.write_bytes(b'{"kind": "start"}\n\xff\xfe\n')
    with pytest.raises(PersonaActError, match="line 2: not UTF-8"):
        list(store.events())


def test_persona_analyse_says_what_it_skipped(tmp_path):
    import shutil

    from recorder.importers.personaact_raw import PUBLIC_SAMPLE_DATA, find_session_files, import_sessions

    import_sessions(find_session_files([REPO / PUBLIC_SAMPLE_DATA / "P02"]), tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the same traces again: must not be pooled twice
    result = _run("persona", "analyse", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "already read" in result.stderr
    assert "389 videos in 4 trace(s)" in result.stdout


@pytest.mark.timeout(300)
def test_a_dead_chat_server_and_a_config_typo_are_one_line_errors(tmp_path):
    from recorder.importers.personaact_raw import PUBLIC_SAMPLE_DATA, find_session_files, import_sessions

    import_sessions(find_session_files([REPO / PUBLIC_SAMPLE_DATA / "P01"]), tmp_path / "traces")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chat = _run("interview", "run", str(tmp_path / "traces"), "--out", str(tmp_path / "iv"), "-s", "chat.backend=http",
                "-s", f"chat.base_url=http://127.0.0.1:{port}/v1", "-s", "chat.max_retries=0")
    typo = _run("sandbox", "run", "--out", str(tmp_path / "sb"), "--steps", "1", "-s", "creator_policy=best-respnse")
    for result, named in ((chat, "base_url"), (typo, "creator_policy")):
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and named in errors[0], result.stderr


def test_corrupt_audit_bookkeeping_files(tmp_path):
    from audit.categoriser import Categoriser
    from audit.manifest import ManifestError, finish_manifest, start_manifest

    (tmp_path / "manifest.json").write_bytes(b'{"started_at": ')
    with pytest.raises(ManifestError, match="manifest.json"):
        start_manifest(tmp_path)
    with pytest.raises(ManifestError, match="manifest.json"):
        finish_manifest(tmp_path)
    cache = tmp_path / "categories.json"
    cache.write_bytes(b"\xff\xfe garbage")
    assert Categoriser(cache_path=cache).cache == {}  # only a cache: rebuilt, the audit goes on
