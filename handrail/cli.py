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

from dispatch import agents, dead_letters
from dispatch import defaults as dispatch_defaults
from dispatch import login as agent_login
from dispatch import tasks as dispatch_tasks
from handrail import replays, workers
from handrail.embedded_redis import EmbeddedRedis, EmbeddedRedisError, url_for
from handrail.supervisor import Supervisor
from rules import do_not_contact
from rules import store as rules_store
from rules.document import RulesError, check_file
from scorer import defaults as scorer_defaults
from tracker import defaults as tracker_defaults
from tracker import sites

DEMO_SITE = "Demo shop"
DEMO_AGENT = "demo-agent"
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


def _demo_agent(connection) -> None:
    """An agent on shift for the demo: chat and calls are offered only while an agent is free."""
    try:
        agents.add(connection, DEMO_AGENT, ["chat", "call"], status="available")
    except agents.DuplicateAgent:
        agents.set_status(connection, DEMO_AGENT, "available")


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
    """Every process of the service in one command: web, scorer, learner, workers (and Redis, and the demo)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    embedded = None
    supervisor = Supervisor()
    try:
        if not redis_url:
            embedded = EmbeddedRedis(data_dir).start()
            redis_url = embedded.url
            supervisor.watch("redis", embedded.running, embedded.start)  # killed: started again on its AOF
        connection = connect(redis_url, data_dir)
        token = admin_token(data_dir)
        _install_rules(connection, rules_file)
        base = f"http://{host}:{port}"
        env = dict(os.environ, REDIS_URL=redis_url, HANDRAIL_ADMIN_TOKEN=token, PYTHONUNBUFFERED="1")
        if demo:
            demo_origins = [base, f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
            site = sites.find_by_name(connection, DEMO_SITE) or sites.create(connection, DEMO_SITE, demo_origins)
            env["HANDRAIL_DEMO_WRITE_KEY"] = site["write_key"]
            _demo_agent(connection)
        python = sys.executable
        supervisor.start("web", [python, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(web_workers),
                                 "--worker-class", "gthread", "--threads", "32", "--no-control-socket",
                                 "handrail.app:create_app()"], env)
        supervisor.start("scorer", [python, "-m", "handrail", "scorer"], env)
        supervisor.start("learner", [python, "-m", "handrail", "learner"], env)
        for name, command in workers.commands(redis_url).items():
            supervisor.start(name, command, env)
        _wait_ready(base, supervisor)
        if demo:
            supervisor.start("simulator", [python, "-m", "handrail", "simulate", "--url", base,
                                           "--write-key", env["HANDRAIL_DEMO_WRITE_KEY"]], env)
        click.echo(
            "\nHandrail is running.\n"
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
@click.option("--name", default=None, help="Consumer name in the stream groups and the shards' leases (default: "
                                           "host-pid). A scorer restarted under the same name takes its shards back "
                                           "at once, under another after their leases end (5 s).")
@click.option("--secret", envvar=["HANDRAIL_MODEL_SECRET", "HANDRAIL_ADMIN_TOKEN"], default=None,
              help="Checks the signatures of the learner's model checkpoints [env HANDRAIL_MODEL_SECRET, else "
                   "HANDRAIL_ADMIN_TOKEN]. Without it no checkpoint is loaded and the model never scores.")
@click.option("--replay-days", default=scorer_defaults.REPLAY_DAYS, show_default=True, type=click.IntRange(min=0),
              envvar="HANDRAIL_REPLAY_DAYS",
              help="Days each session is kept for `rules replay` [env HANDRAIL_REPLAY_DAYS]; 0: none are recorded.")
def scorer(shards, redis_url, name, secret, replay_days):
    """The stream consumer (the Procfile's `scorer` process)."""
    from handrail import scorer_process

    if not redis_url:
        raise click.ClickException("REDIS_URL is not set")
    scorer_process.run(redis_url, shards, name=name, secret=secret, replay_days=replay_days)


@main.command()
@redis_url_option
@click.option("--name", default=None, help="This learner's name in its lease (default: host-pid).")
@click.option("--secret", envvar=["HANDRAIL_MODEL_SECRET", "HANDRAIL_ADMIN_TOKEN"], default=None,
              help="Signs the model's checkpoints [env HANDRAIL_MODEL_SECRET, else HANDRAIL_ADMIN_TOKEN].")
def learner(redis_url, name, secret):
    """Trains the model on the sessions' outcomes and publishes its checkpoints to the scorers (the Procfile's
    `learner` process). One trains at a time; another started waits to take over."""
    from handrail import learner_process

    if not redis_url:
        raise click.ClickException("REDIS_URL is not set")
    if not secret:
        raise click.ClickException("the learner signs the checkpoints it hands the scorers: set "
                                   "HANDRAIL_MODEL_SECRET or HANDRAIL_ADMIN_TOKEN (the scorers' own)")
    learner_process.run(redis_url, secret, name=name)


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


@rules.command("history")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, rules_store.HISTORY_KEPT),
              help="How many versions to list, newest first.")
@redis_url_option
@data_dir_option
def rules_history(limit, redis_url, data_dir):
    """The saved versions of the rules, newest first: who saved each, when, and its rule ids."""
    connection = connect(redis_url, data_dir)
    current = rules_store.version(connection)
    click.echo(f"{'version':>7}  {'saved at':<19}  {'author':<20}  rules")
    for record in rules_store.history(connection, limit):
        saved_at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record["saved_at"]))
        notes = (["in force"] if record["version"] == current else []) + (
            [f"restores {record['rollback_of']}"] if record["rollback_of"] else [])
        click.echo(f"{record['version']:>7}  {saved_at:<19}  {record['author']:<20}  "
                   f"{', '.join(record['rules']) or '-'}" + (f"  ({', '.join(notes)})" if notes else ""))
    click.echo(f"(the last {rules_store.HISTORY_KEPT} versions are kept)")


@rules.command("rollback")
@click.argument("version", type=click.IntRange(min=1))
@redis_url_option
@data_dir_option
def rules_rollback(version, redis_url, data_dir):
    """Put an earlier version in force again, saved as a new version (the history only grows)."""
    author = f"{os.environ.get('USER') or 'someone'} (command line)"
    try:
        new_version, ruleset = rules_store.rollback(connect(redis_url, data_dir), version, author)
    except rules_store.NoSuchVersion as error:
        raise click.ClickException(str(error))
    except RulesError as error:  # the rule language no longer accepts that version
        raise click.ClickException(f"version {version} does not pass today's checks; nothing changed:\n"
                                   + "\n".join(f"  line {line}: {message}" for line, message in error.problems))
    click.echo(f"version {new_version} is in force: the rules of version {version} "
               f"({', '.join(ruleset.ids) or 'no rules'})")


@rules.command("replay")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--since", default="24h", show_default=True,
              help="The sessions active in this last stretch: 30m, 24h, 7d.")
@click.option("--agents", "on_shift", type=click.IntRange(min=0), default=None,
              help="Agents on shift to set the need against (default: the agents not offline now).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as one JSON object.")
@click.option("--shards", default=tracker_defaults.STREAM_SHARDS, type=int, envvar="HANDRAIL_STREAM_SHARDS",
              hidden=True)
@redis_url_option
@data_dir_option
def rules_replay(file, since, on_shift, as_json, shards, redis_url, data_dir):
    """Try a draft of the rules on the sessions recorded since --since: per rule, the sessions it fires
    on and when, how they ended, and the agent minutes it needs per hour against the agents on shift."""
    from rules.document import compile_text
    from rules.durations import parse
    from scorer import replay

    errors = check_file(file)
    for line in errors:
        click.echo(line)
    if errors:
        sys.exit(1)
    seconds = parse(since)
    if not seconds:
        raise click.BadParameter(f"a duration like 30m, 24h or 7d, got {since!r}", param_hint="--since")
    connection = connect(redis_url, data_dir)
    on_shift = agents.on_shift(connection) if on_shift is None else on_shift
    start = int(time.time() * 1000) - int(seconds * 1000)
    with click.progressbar(length=replay.count(connection, start, shards), label="replaying", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        draft = compile_text(Path(file).read_text(encoding="utf-8"))
        result = replay.run(connection, draft, start, shards, on_shift, progress)
    result = replays.add_outreach(connection, draft, result, start)
    click.echo(json.dumps(result) if as_json else replay.table(result) + _outreach_table(result.get("outreach")))


def _outreach_table(reached: dict | None) -> str:
    if not reached:
        return ""
    lines = ["", "Outreach rules (customers each would have reached, on the customers as kept now):"]
    for rule, found in reached.items():
        channels = ", ".join(f"{count} by {channel}" for channel, count in sorted(found["by_channel"].items()))
        lines.append(f"  {rule:<32}{found['customers']:>7}  {channels}")
    return "\n".join(lines)


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


@click.group()
def agents_group():
    """Agents: their skills, status and load."""


AGENT_FIELDS = {"name": "NAME", "skills": "--skills", "max_chats": "--max-chats", "status": "STATUS",
                "sites": "--sites", "password": "--password"}


def _bad_agent(error: agents.InvalidAgent) -> click.ClickException:
    """The errors named by the argument or option the user typed (skills[1] is --skills)."""
    return click.ClickException("\n".join(f"{AGENT_FIELDS.get(where.split('[')[0], where)}: {what}"
                                           for where, what in error.errors.items()))


@agents_group.command("add")
@click.argument("name")
@click.option("--skills", required=True, help="Comma-separated lower-case words, e.g. chat,call,vip "
                                              "(chat and call are skills too).")
@click.option("--max-chats", default=dispatch_defaults.MAX_CHATS, show_default=True, type=int,
              help=f"Chats the agent holds at once (1 to {dispatch_defaults.MAX_CHATS_LIMIT}).")
@click.option("--replace", is_flag=True, help="Give an existing agent these skills and max chats instead.")
@click.option("--sites", default=None, help="Comma-separated site ids whose tasks the agent sees (default: every "
                                            "site; see `handrail sites list`).")
@click.option("--password", "ask_password", is_flag=True, help="Prompt for the password the agent signs in with.")
@redis_url_option
@data_dir_option
def agents_add(name, skills, max_chats, replace, sites, ask_password, redis_url, data_dir):
    """Register an agent (offline until `agents status NAME available` or she signs in to the console)."""
    connection = connect(redis_url, data_dir)
    try:
        # Hashed before anything is stored: a refused password stores no agent.
        hashed = agent_login.hash_password(
            click.prompt("Password", hide_input=True, confirmation_prompt=True)) if ask_password else None
        agent = agents.add(connection, name, [skill.strip() for skill in skills.split(",")], max_chats,
                           replace=replace, password_hash=hashed,
                           sites=None if sites is None else [site.strip() for site in sites.split(",") if site.strip()])
    except agents.InvalidAgent as error:
        raise _bad_agent(error)
    except agents.DuplicateAgent as error:
        raise click.ClickException(str(error))
    click.echo(f"{agent['name']}: {','.join(agent['skills'])}, up to {agent['max_chats']} chats, {agent['status']}")


@agents_group.command("list")
@redis_url_option
@data_dir_option
def agents_list(redis_url, data_dir):
    """Every agent: status, chats and calls held, skills."""
    connection = connect(redis_url, data_dir)
    found = agents.listing(connection)
    width = max([len("NAME"), *(len(agent["name"]) for agent in found)])
    click.echo(f"{'NAME':<{width}}  {'STATUS':<9}  {'CHATS':>5}  {'CALLS':>5}  SKILLS")
    for agent in found:
        chats = f"{agent['chats']}/{agent['max_chats']}"
        calls = f"{agent['calls']}/{dispatch_defaults.MAX_CALLS}"
        skills = ",".join(agent["skills"])
        click.echo(f"{agent['name']:<{width}}  {agent['status']:<9}  {chats:>5}  {calls:>5}  {skills}")
    click.echo(f"{len(found)} agents, {agents.on_shift(connection)} on shift")


@agents_group.command("status")
@click.argument("name")
@click.argument("status", type=click.Choice(agents.STATUSES))
@redis_url_option
@data_dir_option
def agents_status(name, status, redis_url, data_dir):
    """Set an agent's status: available (takes tasks), away, offline."""
    try:
        connection = connect(redis_url, data_dir)
        agent = agents.set_status(connection, name, status)
    except agents.NoSuchAgent:
        raise click.ClickException(f"no agent named {name!r}: see `handrail agents list`")
    dispatch_tasks.route(connection)  # available: a waiting task may go to her; else her offers go elsewhere
    click.echo(f"{agent['name']} is {agent['status']}")


@agents_group.command("token")
@click.argument("name")
@redis_url_option
@data_dir_option
def agents_token(name, redis_url, data_dir):
    """Print a new personal token for the agent to sign in to the console with; it replaces her last one.
    Shown once: only its hash is kept."""
    try:
        click.echo(agent_login.new_token(connect(redis_url, data_dir), name))
    except agents.NoSuchAgent:
        raise click.ClickException(f"no agent named {name!r}: see `handrail agents list`")


@agents_group.command("remove")
@click.argument("name")
@redis_url_option
@data_dir_option
def agents_remove(name, redis_url, data_dir):
    """Forget an agent."""
    try:
        agents.remove(connect(redis_url, data_dir), name)
    except agents.NoSuchAgent:
        raise click.ClickException(f"no agent named {name!r}: see `handrail agents list`")
    click.echo(f"removed {name}")


main.add_command(agents_group, "agents")


@click.group()
def do_not_contact_group():
    """The do-not-contact list: shoppers (ids, emails, phones) never contacted on any channel."""


@do_not_contact_group.command("add")
@click.argument("entries", nargs=-1, required=True)
@redis_url_option
@data_dir_option
def do_not_contact_add(entries, redis_url, data_dir):
    """Put ids, emails or phone numbers on the list (all of them, or none when one is wrong)."""
    try:
        added = do_not_contact.add(connect(redis_url, data_dir), list(entries))
    except do_not_contact.EntryError as error:
        raise click.ClickException(str(error))
    click.echo(f"{added} added; {len(entries) - added} already on the list")


@do_not_contact_group.command("remove")
@click.argument("entry")
@redis_url_option
@data_dir_option
def do_not_contact_remove(entry, redis_url, data_dir):
    """Take one entry off the list."""
    if not do_not_contact.remove(connect(redis_url, data_dir), entry):
        raise click.ClickException(f"{entry!r} is not on the do-not-contact list")
    click.echo(f"removed {do_not_contact.normal(entry)}")


@do_not_contact_group.command("list")
@redis_url_option
@data_dir_option
def do_not_contact_list(redis_url, data_dir):
    """Every entry on the list."""
    for entry in do_not_contact.listing(connect(redis_url, data_dir)):
        click.echo(entry)


main.add_command(do_not_contact_group, "do-not-contact")


@main.command("dead-letters")
@click.option("--retry", "retry_id", default=None, metavar="ID", help="Put this dead letter back on the queue.")
@redis_url_option
@data_dir_option
def dead_letters_command(retry_id, redis_url, data_dir):
    """Dispatch jobs that failed for good (an email, text, webhook or call request): list them, or retry one."""
    connection = connect(redis_url, data_dir)
    if retry_id:
        try:
            retried = dead_letters.retry(connection, retry_id)
        except dead_letters.NoSuchDeadLetter:
            raise click.ClickException(f"no dead letter {retry_id} (see `handrail dead-letters`)")
        click.echo(f"{retried['id']}: queued again (task {retried['task_id']})")
        return
    letters = dead_letters.listing(connection)
    if not letters:
        click.echo("no dead letters")
    for letter in letters:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(letter["failed_at"])) if letter["failed_at"] else "-"
        click.echo(f"{letter['id']}\t{when}\t{letter['channel'] or '-'}\ttask {letter['task_id'] or '-'}\t{letter['error']}")


@main.command("report")
@click.option("--since", default="7d", show_default=True,
              help="The period: a duration back from now (30m, 24h, 7d) or a date (2026-11-01, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object, as /api/reports serves them.")
@redis_url_option
@data_dir_option
def report(since, as_json, redis_url, data_dir):
    """The product owner's figures: rules by channel, uplift against the holdout, agent load by hour, the
    model's AUC and calibration, the funnel and friction."""
    from reports import figures, text

    try:
        start = figures.parse_since(since)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--since")
    found = figures.collect(connect(redis_url, data_dir), start)
    click.echo(json.dumps(found) if as_json else text.render(found))
