"""The `handrail` command."""

import json
import logging
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import click
import redis

from handrail.embedded_redis import EmbeddedRedis, EmbeddedRedisError, url_for
from handrail.supervisor import Supervisor
from rules import store as rules_store
from rules.document import RulesError, check_file
from tracker import defaults as tracker_defaults
from tracker import sites

DEMO_SITE = "Demo shop"
READY_TIMEOUT = 60.0  # seconds the web process gets to answer /healthz


@click.group()
def main():
    """Handrail: notice a struggling shopper and get a person to them while they are on the page."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


redis_url_option = click.option("--redis-url", envvar="REDIS_URL", help="Redis to use (default: the embedded one).")
data_dir_option = click.option(
    "--data-dir", default="var", show_default=True, type=click.Path(file_okay=False, path_type=Path),
    help="Where the embedded Redis keeps its data.",
)


def connect(redis_url: str | None, data_dir: Path) -> redis.Redis:
    """The instance's Redis: the URL given, else the embedded server `handrail run` started in data_dir."""
    connection = redis.Redis.from_url(redis_url or url_for(data_dir))
    try:
        connection.ping()
    except redis.ConnectionError:
        where = redis_url or f"the embedded server in {data_dir} (is `handrail run` running?)"
        raise click.ClickException(f"cannot reach Redis at {where}")
    return connection


def admin_token(data_dir: Path) -> str:
    """HANDRAIL_ADMIN_TOKEN, else one generated once and kept in the data directory."""
    if os.environ.get("HANDRAIL_ADMIN_TOKEN"):
        return os.environ["HANDRAIL_ADMIN_TOKEN"]
    path = data_dir / "admin-token"
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(24)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


def _install_rules(connection, rules_file: Path) -> None:
    if rules_store.current(connection) is not None:
        return  # the stored rules (maybe edited through the API) win over the file
    if not rules_file.exists():
        click.echo(f"no rules file at {rules_file}: starting with no rules", err=True)
        return
    try:
        rules_store.save(connection, rules_file.read_text(encoding="utf-8"), f"file {rules_file}")
    except RulesError as error:
        raise click.ClickException("invalid rules:\n" + "\n".join(error.lines(str(rules_file))))


def _wait_ready(url: str, supervisor: Supervisor) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for name, process in supervisor.processes:
            if process.poll() is not None:
                raise click.ClickException(f"{name} exited with status {process.returncode} while starting")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise click.ClickException(f"the web process did not answer {url}/healthz within {READY_TIMEOUT:.0f} s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@redis_url_option
@data_dir_option
@click.option("--demo/--no-demo", default=False, help="Also serve the demo shop and simulated shoppers.")
@click.option("--rules", "rules_file", default="rules.yaml", show_default=True, type=click.Path(path_type=Path),
              help="Rules installed when the instance has none yet.")
@click.option("--web-workers", default=2, show_default=True, type=int)
def run(host, port, redis_url, data_dir, demo, rules_file, web_workers):
    """Every process of the service in one command: web, scorer, worker (and Redis, and the demo)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    embedded = None
    supervisor = Supervisor()
    try:
        if not redis_url:
            embedded = EmbeddedRedis(data_dir).start()
            redis_url = embedded.url
        connection = connect(redis_url, data_dir)
        token = admin_token(data_dir)
        _install_rules(connection, rules_file)
        base = f"http://{host}:{port}"
        env = dict(os.environ, REDIS_URL=redis_url, HANDRAIL_ADMIN_TOKEN=token, PYTHONUNBUFFERED="1")
        if demo:
            demo_origins = [base, f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
            site = sites.find_by_name(connection, DEMO_SITE) or sites.create(connection, DEMO_SITE, demo_origins)
            env["HANDRAIL_DEMO_WRITE_KEY"] = site["write_key"]
        python = sys.executable
        supervisor.start("web", [python, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(web_workers),
                                 "--worker-class", "gthread", "--threads", "32", "--no-control-socket",
                                 "handrail.app:create_app()"], env)
        supervisor.start("scorer", [python, "-m", "handrail", "scorer"], env)
        supervisor.start("worker", [python, "-m", "rq.cli", "worker", "--url", redis_url, "--with-scheduler",
                                    "--serializer", "json", "handrail"], env)
        _wait_ready(base, supervisor)
        if demo:
            supervisor.start("simulator", [python, "-m", "handrail", "simulate", "--url", base,
                                           "--write-key", env["HANDRAIL_DEMO_WRITE_KEY"]], env)
        click.echo(
            f"\nHandrail is running.\n"
            + (f"  Demo shop:   {base}/shop/\n" if demo else "")
            + f"  Console:     {base}/console/   (sign in with the admin token)\n"
            f"  Admin token: {token}\n"
            f"  Collector:   {base}/v1/batch   snippet: {base}/hr.js\n"
            f"  Redis:       {redis_url}" + (f" (embedded, data in {data_dir})" if embedded else "") + "\n"
            "Press Ctrl-C to stop.\n"
        )
        code = supervisor.wait()
    except EmbeddedRedisError as error:
        raise click.ClickException(str(error))
    finally:
        supervisor.stop()
        if embedded:
            embedded.stop()
    click.echo("Handrail stopped.")
    sys.exit(code)


@main.command()
@click.option("--shards", default=tracker_defaults.STREAM_SHARDS, show_default=True, type=int,
              envvar="HANDRAIL_STREAM_SHARDS")
@redis_url_option
@click.option("--name", default=None, help="Consumer name in the stream groups (default: host-pid). A scorer "
                                           "restarted under the same name takes up its unacknowledged entries at once.")
@click.option("--secret", envvar=["HANDRAIL_MODEL_SECRET", "HANDRAIL_ADMIN_TOKEN"], default=None,
              help="Signs the model's checkpoints [env HANDRAIL_MODEL_SECRET, else HANDRAIL_ADMIN_TOKEN]. "
                   "Without it the model is neither saved nor loaded.")
def scorer(shards, redis_url, name, secret):
    """The stream consumer (the Procfile's `scorer` process)."""
    from handrail import scorer_process

    if not redis_url:
        raise click.ClickException("REDIS_URL is not set")
    scorer_process.run(redis_url, shards, name=name, secret=secret)


@main.command()
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The collector to drive.")
@click.option("--write-key", required=True)
@click.option("--rate", default=0.4, show_default=True, type=float, help="New shoppers per second.")
@click.option("--sessions", default=0, type=int, help="Stop after this many shoppers (0: run until stopped).")
@click.option("--seed", default=None, type=int)
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="How many times faster than life the shoppers shop.")
@click.option("--truth", type=click.File("a"),
              help="Append each shopper's truth to this file, one JSON line each: anonymousId, persona, "
                   "stuck, outcome, start and leave_at (epoch ms).")
def simulate(url, write_key, rate, sessions, seed, speed, truth):
    """Simulated shoppers driving the real collector over HTTP."""
    from demo.simulator import Simulator

    Simulator(url, write_key, rate=rate, seed=seed, speed=speed, truth=truth).run(sessions or None)


@main.group()
def rules():
    """Trigger rules."""


@rules.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def rules_check(file):
    """Exit 0 for a valid rules file; else 1 with one line per error."""
    errors = check_file(file)
    for line in errors:
        click.echo(line)
    if errors:
        sys.exit(1)
    click.echo(f"{file}: ok")


@main.group()
def sites_group():
    """Sites and their write keys."""


@sites_group.command("add")
@click.argument("name")
@click.option("--origin", "origins", multiple=True, help="An origin allowed to send events, e.g. https://shop.example")
@redis_url_option
@data_dir_option
def sites_add(name, origins, redis_url, data_dir):
    """Create a site and print its write key."""
    site = sites.create(connect(redis_url, data_dir), name, list(origins))
    click.echo(site["write_key"])


@sites_group.command("list")
@redis_url_option
@data_dir_option
def sites_list(redis_url, data_dir):
    """Every site: id, name, write key, allowed origins."""
    for site in sites.listing(connect(redis_url, data_dir)):
        state = "revoked" if site["revoked"] else "active"
        click.echo(f"{site['id']}  {site['name']}  {site['write_key']}  {state}  {' '.join(site['origins'])}")


@sites_group.command("revoke")
@click.argument("site")
@redis_url_option
@data_dir_option
def sites_revoke(site, redis_url, data_dir):
    """Revoke a site's write key (give the site id or the key): its events are refused from then on."""
    found = sites.revoke(connect(redis_url, data_dir), site)
    if found is None:
        raise click.ClickException(f"no site with id or write key {site!r}")
    click.echo(f"revoked the write key of {found['name']} ({found['id']})")


@main.group()
def model():
    """The scoring model, offline: `model evaluate`."""


@model.command("evaluate")
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The UCI Online Shoppers Purchasing Intention CSV.")
@click.option("--simulated", is_flag=True,
              help="Simulated shoppers instead: how early shoppers in trouble are flagged, 1 false alarm in 100.")
@click.option("--protocol", type=click.Choice(["prequential", "split"]), default="prequential", show_default=True,
              help="With --dataset. prequential: test-then-train on every row; split: learn 70 %, "
                   "score the other 30 %.")
@click.option("--sessions", type=click.IntRange(min=10), default=2000, show_default=True,
              help="With --simulated: how many shoppers to simulate.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the row shuffle (or of the shoppers) and the learner.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def model_evaluate(dataset, simulated, protocol, sessions, seed, as_json):
    """The online learner on the UCI dataset (ROC AUC, F1, accuracy, log loss, calibration) or, with
    --simulated, on simulated shoppers (how many seconds before they leave shoppers in trouble are flagged)."""
    if (dataset is None) == (not simulated):
        raise click.UsageError("give either --dataset FILE or --simulated (one of them, not both)")
    result = _evaluate_simulated(sessions, seed) if simulated else _evaluate_dataset(dataset, protocol, seed)
    if as_json:
        click.echo(json.dumps(result))
    elif simulated:
        _print_simulated(result)
    else:
        _print_dataset(result, protocol, seed)


def _evaluate_dataset(dataset: Path, protocol: str, seed: int) -> dict:
    from scorer import evaluation

    rows = evaluation.load(dataset)
    started = time.monotonic()
    with click.progressbar(length=len(rows), label=f"{protocol}, seed {seed}", file=sys.stderr) as bar:
        result = evaluation.evaluate(rows, protocol, seed, tick=lambda: bar.update(1))
    return dict(result, seconds=round(time.monotonic() - started, 1))


def _print_dataset(result: dict, protocol: str, seed: int) -> None:
    click.echo(f"{protocol}, seed {seed}: {result['rows']} rows scored, {result['positives']} positive, "
               f"{result['seconds']} s")
    for name in ("roc_auc", "f1", "accuracy", "log_loss"):
        click.echo(f"  {name:<10}{result[name]:.4f}")
    click.echo("  calibration (10 equal-width bins of the predicted probability)")
    click.echo(f"    {'bin':<9}{'count':>7}{'predicted':>11}{'observed':>10}")
    for row in result["calibration"]:
        predicted = "-" if row["count"] == 0 else f"{row['mean_predicted']:.3f}"
        observed = "-" if row["count"] == 0 else f"{row['observed_rate']:.3f}"
        click.echo(f"    {row['low']:.1f}-{row['high']:.1f}  {row['count']:>7}{predicted:>11}{observed:>10}")


def _evaluate_simulated(sessions: int, seed: int) -> dict:
    from scorer import simulated

    started = time.monotonic()
    with click.progressbar(length=sessions, label=f"simulated, seed {seed}", file=sys.stderr) as bar:
        result = simulated.evaluate(sessions, seed, tick=lambda: bar.update(1))
    return dict(result, seconds=round(time.monotonic() - started, 1))


def _lead(quartiles: dict | None) -> str:
    if quartiles is None:
        return "-"
    return f"{quartiles['median']:.0f} s (quartiles {quartiles['q1']:.0f}-{quartiles['q3']:.0f})"


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part / whole:.1f} %)" if whole else f"{part} of 0"


def _print_simulated(result: dict) -> None:
    click.echo(f"simulated, seed {result['seed']}: {result['sessions']} sessions, learned from the first "
               f"{result['trained_on']}, tested {result['tested']} ({result['smooth']} smooth, {result['stuck']} "
               f"stuck), {result['seconds']} s")
    line = "-" if result["threshold"] is None else f"{result['threshold']:.6f}"
    click.echo(f"  threshold            {line}  (flagged above it: at most 1 in 100 smooth sessions ever go above)")
    click.echo(f"  smooth reaching it   {_share(result['smooth_reaching_threshold'], result['smooth'])}")
    click.echo(f"  false alarms         {_share(result['false_alarms'], result['smooth'])}")
    click.echo(f"  stuck flagged        {_share(result['flagged'], result['stuck'])} before they left")
    click.echo(f"  ...30 s or earlier   {_share(result['flagged_30s_before'], result['stuck'])}")
    click.echo(f"  flagged, before leaving: {_lead(result['seconds_before_leaving'])}")
    click.echo(f"    {'persona':<20}{'stuck':>6}{'sessions':>10}{'flagged':>9}  before leaving")
    for name, row in result["personas"].items():
        click.echo(f"    {name:<20}{'yes' if row['stuck'] else 'no':>6}{row['sessions']:>10}{row['flagged']:>9}  "
                   f"{_lead(row['seconds_before_leaving'])}")


main.add_command(sites_group, "sites")
