"""The `handrail` command (handrail/cli.py): `rules check`, `sites`."""

from pathlib import Path

from handrail.cli import main

SHIPPED = Path(__file__).resolve().parent.parent / "rules.yaml"


def test_rules_check_of_shipped_file_is_ok(runner):
    """The shipped rules.yaml checks clean: exit status 0 and 'ok'."""
    result = runner.invoke(main, ["rules", "check", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{SHIPPED}: ok\n"


def test_rules_check_of_bad_file_prints_one_line_per_error(runner, tmp_path):
    """A file with two mistakes exits 1 and prints exactly two FILE:LINE: lines, nothing else."""
    path = tmp_path / "rules.yaml"
    path.write_text(
        "defaults:\n"
        "  holdout: 2\n"
        "rules:\n"
        "  - id: a\n"
        "    when:\n"
        "      dwell: {over: a while}\n"
        "    action: {channel: chat}\n"
    )
    result = runner.invoke(main, ["rules", "check", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}:2: 'holdout' must be a share from 0 up to (not including) 1, like 0.1, got '2'",
        f"{path}:6: 'over' must be a duration like 5m, got 'a while'",
    ]


def test_rules_check_of_missing_file_exits_1_with_a_line(runner, tmp_path):
    """A file that does not exist is one error line and exit status 1."""
    path = tmp_path / "missing.yaml"
    result = runner.invoke(main, ["rules", "check", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"{path}:1: cannot read the file")


def test_sites_add_list_and_revoke(runner, redis, redis_server):
    """`handrail sites add` prints a write key the collector takes; `revoke` stops it; `list` shows both."""
    url = ["--redis-url", redis_server.url]
    added = runner.invoke(main, ["sites", "add", "Boots & Co", "--origin", "https://boots.example", *url])
    assert added.exit_code == 0, added.output
    write_key = added.output.strip()
    assert write_key.startswith("wk_")
    listed = runner.invoke(main, ["sites", "list", *url])
    assert "Boots & Co" in listed.output and write_key in listed.output and "active" in listed.output
    assert "https://boots.example" in listed.output
    revoked = runner.invoke(main, ["sites", "revoke", write_key, *url])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "revoked" in runner.invoke(main, ["sites", "list", *url]).output


def test_sites_command_without_a_running_instance_says_so(runner, tmp_path):
    """With no Redis at the data dir, the command fails with a message saying where it looked."""
    result = runner.invoke(main, ["sites", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "cannot reach Redis" in result.output and "handrail run" in result.output
