// The rules editor (/rules). Rules text, error messages, history and replay results are whatever
// people typed or the server sent: they are set with textContent only, never as HTML.
(function () {
  "use strict";
  var CHECK_DELAY = 400;  // ms after the last keystroke before the draft is checked
  var POLL = 1000;  // ms between looks at a running replay
  var HISTORY_SHOWN = 20;  // versions listed in the history panel
  var DASH = "—";  // what a missing or unexpected value shows as

  function byId(id) { return document.getElementById(id); }
  var yaml = byId("yaml"), gutter = byId("gutter"), backdrop = byId("backdrop"), save = byId("save");
  var errorList = byId("errors"), checkStatus = byId("check-status"), saveResult = byId("save-result");
  var inForceLabel = byId("in-force"), historyList = byId("history"), historyKept = byId("history-kept");
  var versionView = byId("version-view"), versionTitle = byId("version-title"), versionYaml = byId("version-yaml");
  var replayButton = byId("replay"), since = byId("since"), bar = byId("replay-progress");
  var replayStatus = byId("replay-status"), replayErrors = byId("replay-errors"), replaySummary = byId("replay-summary");
  var replayTable = byId("replay-table"), replayRows = byId("replay-rows");
  var outreachTable = byId("outreach-table"), outreachRows = byId("outreach-rows");

  var inForce = {version: 0, yaml: ""};
  var errors = [];  // [{line, message}] of the draft as last checked
  var checking = false, saving = false, checkRun = 0, checkTimer = null;
  var viewing = null;  // the YAML of the version shown in the history panel
  var replayRun = 0, replayTimer = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
    });
    return node;
  }

  function fill(node, children) { node.replaceChildren.apply(node, children); }

  function say(node, text, tone) {
    node.textContent = text;
    node.className = tone || "";
  }

  // A number, text or yes/no as sent; anything else (missing, an object the page does not know) as a dash.
  function show(v) {
    if (typeof v === "number") return isFinite(v) ? (Math.round(v) === v ? String(v) : v.toFixed(1)) : DASH;
    if (typeof v === "string") return v === "" ? DASH : v;
    if (typeof v === "boolean") return v ? "yes" : "no";
    return DASH;
  }

  function when(t) {
    if (typeof t === "string" && t) return t;
    if (typeof t !== "number" || !isFinite(t)) return DASH;
    return new Date(t > 1e11 ? t : t * 1000).toLocaleString();  // epoch ms or epoch seconds
  }

  function send(method, path, body, type) {
    var init = {method: method, credentials: "same-origin", headers: {}};
    if (method !== "GET") {
      // handrail/auth.py refuses a state-changing /api/ call without it: a cross-site form cannot set it.
      init.headers["X-Handrail-Console"] = "1";
      init.headers["Content-Type"] = type || "application/json";
      init.body = body;
    }
    return fetch(path, init).then(function (r) {
      return r.json().then(function (j) { return {status: r.status, body: j || {}}; },
                           function () { return {status: r.status, body: {}}; });
    });
  }

  function problem(answer) {
    if (answer.status === 401) return "you are signed out: sign in again on the console";
    return typeof answer.body.error === "string" ? answer.body.error : "the server answered " + answer.status;
  }

  // -- the editor -------------------------------------------------------------------------

  function paint() {
    var lines = yaml.value.split("\n"), byLine = {};
    errors.forEach(function (e) {
      var n = Math.min(Math.max(1, Math.floor(Number(e.line)) || 1), lines.length);
      (byLine[n] = byLine[n] || []).push(show(e.message));
    });
    fill(gutter, lines.map(function (_, i) {
      var n = i + 1, row = el("div", {"data-line": n}, [n]);
      if (byLine[n]) { row.className = "has-error"; row.title = byLine[n].join("; "); }
      return row;
    }));
    fill(backdrop, lines.map(function (text, i) {
      var n = i + 1, row = el("div", {"data-line": n}, [el("span", {"class": "text"}, [text])]);
      if (byLine[n]) {
        row.className = "has-error";
        row.appendChild(el("span", {"class": "inline-error", "data-line": n}, [byLine[n].join("; ")]));
      }
      return row;
    }));
    fill(errorList, errors.map(function (e) {
      var item = el("li", {"data-line": show(e.line)}, ["line " + show(e.line) + ": " + show(e.message)]);
      item.onclick = function () { goToLine(Number(e.line)); };
      return item;
    }));
    follow();
  }

  function follow() {  // the gutter and the error marks scroll with the text
    gutter.style.transform = "translateY(" + -yaml.scrollTop + "px)";
    backdrop.style.transform = "translate(" + -yaml.scrollLeft + "px," + -yaml.scrollTop + "px)";
  }

  function goToLine(n) {
    var lines = yaml.value.split("\n"), start = 0;
    for (var i = 0; i < n - 1 && i < lines.length; i++) start += lines[i].length + 1;
    yaml.focus();
    yaml.setSelectionRange(start, start + (lines[n - 1] || "").length);
  }

  function dirty() { return yaml.value !== inForce.yaml; }

  function refreshSave() {
    save.disabled = saving || checking || errors.length > 0 || !dirty();
    save.title = errors.length ? "fix the errors first" : dirty() ? "" : "nothing changed";
  }

  function showInForce() {
    inForceLabel.textContent = inForce.version ? "In force: version " + inForce.version : "No rules saved yet";
  }

  function scheduleCheck() {
    checkRun++;  // an answer to an older draft is ignored from now on
    checking = true;
    refreshSave();
    say(checkStatus, "checking…", "muted");
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, CHECK_DELAY);
  }

  function check() {
    var run = checkRun;
    send("POST", "/api/rules/check", yaml.value, "application/yaml").then(function (a) {
      if (run !== checkRun) return;
      checking = false;
      errors = [];
      if (a.status !== 200) {
        say(checkStatus, "could not check the draft: " + problem(a), "bad");
      } else if (a.body.ok) {
        var ids = Array.isArray(a.body.rules) ? a.body.rules : [];
        say(checkStatus, "valid: " + ids.length + (ids.length === 1 ? " rule" : " rules") +
            (ids.length ? " (" + ids.map(show).join(", ") + ")" : ""), "good");
      } else {
        errors = Array.isArray(a.body.errors) ? a.body.errors : [];
        say(checkStatus, errors.length + (errors.length === 1 ? " error" : " errors"), "bad");
      }
      paint();
      refreshSave();
    }).catch(function (e) {
      if (run !== checkRun) return;
      checking = false;
      say(checkStatus, "could not check the draft: " + e.message, "bad");
      refreshSave();
    });
  }

  function setDraft(text) {
    yaml.value = text;
    errors = [];
    paint();
    scheduleCheck();
  }

  // "rules.yaml:4: message", as PUT and the replay API list errors
  function fromLine(s) {
    var m = /^[^:]*:(\d+): ([\s\S]*)$/.exec(String(s));
    return m ? {line: Number(m[1]), message: m[2]} : {line: 1, message: String(s)};
  }

  save.onclick = function () {
    var text = yaml.value;
    saving = true;
    refreshSave();
    say(saveResult, "saving…", "muted");
    send("PUT", "/api/rules", text, "application/yaml").then(function (a) {
      saving = false;
      if (a.status === 200) {
        inForce = {version: a.body.version, yaml: text};
        showInForce();
        say(saveResult, "Saved as version " + show(a.body.version) + ".", "good");
        loadHistory();
      } else if (a.status === 422) {
        errors = (Array.isArray(a.body.errors) ? a.body.errors : []).map(fromLine);
        paint();
        say(saveResult, "Not saved: " + problem(a) + ".", "bad");
      } else {
        say(saveResult, "Not saved: " + problem(a) + ".", "bad");
      }
      refreshSave();
    }).catch(function (e) {
      saving = false;
      say(saveResult, "Not saved: " + e.message, "bad");
      refreshSave();
    });
  };

  yaml.addEventListener("input", function () { paint(); scheduleCheck(); });
  yaml.addEventListener("scroll", follow);

  // -- history ----------------------------------------------------------------------------

  function loadHistory() {
    return send("GET", "/api/rules/history?limit=" + HISTORY_SHOWN).then(function (a) {
      if (a.status !== 200) { say(historyKept, "The history cannot be shown: " + problem(a), "bad"); return; }
      say(historyKept, "The last " + show(a.body.kept) + " versions are kept; the newest " + HISTORY_SHOWN +
          " are listed.", "muted");
      fill(historyList, (a.body.versions || []).map(function (v) { return entry(v, a.body.current); }));
    });
  }

  function entry(v, current) {
    var view = el("button", {"class": "view"}, ["view"]);
    view.onclick = function () { viewVersion(v.version); };
    var back = el("button", {"class": "rollback"}, ["roll back"]);
    back.onclick = function () { rollBack(v.version); };
    var head = [el("strong", {}, ["v" + show(v.version)]), " · " + show(v.author) + " · " + when(v.saved_at)];
    if (v.version === current) {
      back.disabled = true;
      head.push(" ", el("span", {"class": "badge"}, ["in force"]));
    }
    if (v.rollback_of != null) head.push(el("span", {"class": "muted rollback-of"}, [" · restores v" + show(v.rollback_of)]));
    var ids = Array.isArray(v.rules) && v.rules.length ? v.rules.map(show).join(", ") : "no rules";
    return el("li", {"data-version": show(v.version)}, [
      el("span", {"class": "actions"}, [view, back]), el("div", {}, head), el("div", {"class": "muted"}, [ids])]);
  }

  function viewVersion(number) {
    send("GET", "/api/rules/history/" + encodeURIComponent(number)).then(function (a) {
      if (a.status !== 200) { say(saveResult, problem(a), "bad"); return; }
      viewing = typeof a.body.yaml === "string" ? a.body.yaml : "";
      versionTitle.textContent = "Version " + show(a.body.version) + " · " + show(a.body.author) + " · " + when(a.body.saved_at);
      versionYaml.textContent = viewing;
      versionView.hidden = false;
    });
  }

  byId("version-close").onclick = function () { versionView.hidden = true; };
  byId("version-edit").onclick = function () {
    if (viewing === null || (dirty() && !confirm("Replace your unsaved draft with this version?"))) return;
    setDraft(viewing);
  };

  function rollBack(number) {
    say(saveResult, "rolling back to version " + number + "…", "muted");
    send("POST", "/api/rules/rollback", JSON.stringify({version: number})).then(function (a) {
      if (a.status !== 200) {  // 422: that version no longer passes the checks; its errors say why
        var why = Array.isArray(a.body.errors) ? " " + a.body.errors.map(show).join("; ") : "";
        return say(saveResult, "Not rolled back: " + problem(a) + why, "bad");
      }
      var keepDraft = dirty();
      return loadInForce(!keepDraft).then(function () {
        say(saveResult, "Rolled back to version " + number + ": the rules in force are now version " +
            show(a.body.version) + (keepDraft ? "; your unsaved draft is still in the editor." : "."), "good");
        loadHistory();
      });
    }).catch(function (e) { say(saveResult, "Not rolled back: " + e.message, "bad"); });
  }

  function loadInForce(intoEditor) {
    return send("GET", "/api/rules").then(function (a) {
      if (a.status !== 200) { say(inForceLabel, "The rules in force cannot be read: " + problem(a), "bad"); return; }
      inForce = {version: a.body.version, yaml: typeof a.body.yaml === "string" ? a.body.yaml : ""};
      showInForce();
      if (intoEditor) setDraft(inForce.yaml);
      refreshSave();
    });
  }

  // -- trying the draft on recorded sessions ----------------------------------------------

  function replayDone(text, tone) {
    say(replayStatus, text, tone);
    replayButton.disabled = false;
  }

  replayButton.onclick = function () {
    var run = ++replayRun;
    clearTimeout(replayTimer);
    replayButton.disabled = true;
    fill(replayErrors, []);
    replaySummary.textContent = "";
    replayTable.hidden = true;
    outreachTable.hidden = true;
    bar.hidden = true;
    say(replayStatus, "starting…", "muted");
    send("POST", "/api/rules/replay", JSON.stringify({yaml: yaml.value, since: since.value})).then(function (a) {
      if (run !== replayRun) return;
      if (a.status === 404) return replayDone("replay is not available on this server", "bad");
      if (a.status === 422) {
        fill(replayErrors, (Array.isArray(a.body.errors) ? a.body.errors : []).map(function (e) { return el("li", {}, [show(e)]); }));
        return replayDone("The draft cannot be tried: " + problem(a), "bad");
      }
      if (a.status !== 202 && a.status !== 200) return replayDone("The replay did not start: " + problem(a), "bad");
      var url = a.body.url;
      if (typeof url !== "string" || url.indexOf("/api/rules/replay/") !== 0) {
        if (typeof a.body.id !== "string" || !a.body.id) return replayDone("The server did not say where to follow the replay.", "bad");
        url = "/api/rules/replay/" + encodeURIComponent(a.body.id);
      }
      bar.hidden = false;
      bar.removeAttribute("value");  // indeterminate until the first progress arrives
      poll(run, url);
    }).catch(function (e) { if (run === replayRun) replayDone("The replay did not start: " + e.message, "bad"); });
  };

  function poll(run, url) {
    send("GET", url).then(function (a) {
      if (run !== replayRun) return;
      if (a.status !== 200) return replayDone("The replay cannot be followed: " + problem(a), "bad");
      var job = a.body, p = job.progress || {};
      var counted = typeof p.total === "number" && p.total > 0 && typeof p.done === "number";
      if (counted) { bar.max = p.total; bar.value = Math.min(p.done, p.total); }
      var counts = counted ? ": " + show(p.done) + " of " + show(p.total) + " sessions" : "";
      if (job.status === "finished") {
        bar.max = 1; bar.value = 1;
        showResult(job.result && typeof job.result === "object" ? job.result : {});
        return replayDone("Finished" + counts + ".", "good");
      }
      if (job.status === "failed") return replayDone("The replay failed: " + show(job.error), "bad");
      say(replayStatus, show(job.status) + counts, "muted");
      replayTimer = setTimeout(function () { poll(run, url); }, POLL);
    }).catch(function (e) { if (run === replayRun) replayDone("The replay cannot be followed: " + e.message, "bad"); });
  }

  // Agent minutes an hour: one figure, or one per hour of the day ("0" to "23"): then the busiest hour.
  function minutes(v, zone) {
    if (v === null || typeof v !== "object") return show(v);
    var hours = Object.keys(v).filter(function (k) { return typeof v[k] === "number" && isFinite(v[k]); });
    if (!hours.length) return DASH;
    var peak = hours.reduce(function (a, b) { return v[b] > v[a] ? b : a; });
    if (!v[peak]) return "0";
    var hour = /^([01]?\d|2[0-3])$/.test(peak) ? " (" + peak + ":00" + (zone ? " " + zone : "") + ")" : "";
    return "peak " + show(v[peak]) + hour;
  }

  function moments(list) {
    if (!Array.isArray(list) || !list.length) return DASH;
    var items = list.slice(0, 20).map(function (m) {
      m = m && typeof m === "object" ? m : {};
      var evidence = Array.isArray(m.evidence) ? m.evidence.map(show).join("; ") : show(m.evidence);
      return el("li", {}, [when(m.at) + " · " + show(m.session) + " · step " + show(m.step) + " · " + evidence]);
    });
    return el("details", {}, [el("summary", {}, [list.length + (list.length === 1 ? " moment" : " moments")]),
                              el("ul", {"class": "moments"}, items)]);
  }

  function showResult(result) {
    var zone = typeof result.hours_in === "string" ? result.hours_in : "";
    var available = typeof result.agent_minutes_available_per_hour === "number" ?
      " (" + show(result.agent_minutes_available_per_hour) + " agent minutes an hour)" : "";
    var short = Array.isArray(result.hours_short) && result.hours_short.length ?
      " · short of agents at " + result.hours_short.map(function (h) { return show(h) + ":00"; }).join(", ") +
      (zone ? " " + zone : "") : "";
    fill(replaySummary, [
      "Sessions replayed: " + show(result.sessions) + " since " + when(result.since) + " · agents on shift: " +
        show(result.agents_on_shift) + available + short,
      typeof result.not_replayed === "string" ? el("span", {"class": "muted"}, [" · not replayed: " + result.not_replayed]) : ""]);
    var rules = Array.isArray(result.rules) ? result.rules : [];
    fill(replayRows, rules.map(function (r) {
      r = r && typeof r === "object" ? r : {};
      var cells = [r.id, r.fired, r.bought, r.left_with_cart, r.left].map(function (v, i) {
        return el("td", i ? {"class": "num"} : {}, [show(v)]);
      });
      cells.push(el("td", {"class": "num"}, [minutes(r.agent_minutes_per_hour, zone)]), el("td", {}, [moments(r.moments)]));
      return el("tr", {"data-rule": show(r.id)}, cells);
    }));
    if (!rules.length) replayRows.appendChild(el("tr", {}, [el("td", {colspan: 7}, ["The draft has no live rules to try."])]));
    replayTable.hidden = false;
    // The outreach rules, tried on the customers (handrail.replays): how many each would have reached.
    var reached = result.outreach && typeof result.outreach === "object" ? result.outreach : null;
    fill(outreachRows, Object.keys(reached || {}).map(function (id) {
      var r = reached[id] && typeof reached[id] === "object" ? reached[id] : {};
      var by = r.by_channel && typeof r.by_channel === "object" ? r.by_channel : {};
      return el("tr", {"data-outreach": show(id)}, [el("td", {}, [show(id)]), el("td", {"class": "num"}, [show(r.customers)]),
        el("td", {}, [Object.keys(by).sort().map(function (c) { return show(by[c]) + " by " + show(c); }).join(", ") || "none"])]);
    }));
    outreachTable.hidden = !reached;
  }

  // -- start --------------------------------------------------------------------------------

  loadInForce(true).then(function () { yaml.disabled = false; });
  loadHistory();
})();
