// The agent console. Everything shown comes from shoppers' browsers: it is set with textContent only.
(function () {
  "use strict";
  var tasks = {};
  var actor = document.getElementById("console").getAttribute("data-actor");  // who is signed in
  var list = document.getElementById("tasks");
  var empty = document.getElementById("empty");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
    });
    return node;
  }

  function money(v) { return (Number(v) || 0).toFixed(2) + " EUR"; }
  function clock(ms) { return new Date(ms).toLocaleTimeString(); }

  function status(task) {
    if ((task.status === "open" || task.status === "offered") && Date.now() / 1000 > task.expires_at) return "expired";
    return task.status;
  }

  // Who may claim: anyone an open task; an offered one, the agent it is offered to (or the admin).
  function claimable(task, s) {
    return s === "open" || (s === "offered" && (task.offered_to === actor || actor === "admin"));
  }

  function api(path, body) {
    // The custom header makes the browser refuse a cross-site forgery of this request.
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Handrail-Console": "1"},
      body: JSON.stringify(body || {})
    }).then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error); return j; }); })
      .then(upsert).catch(function (e) { alert(e.message); });
  }

  function card(task) {
    var s = status(task), ctx = task.context || {}, cart = ctx.cart || {items: [], value: 0};
    var why = el("span", {"class": "why"}, [task.reason.text]);
    var head = el("div", {"class": "task-head"}, [
      el("span", {"class": "badge " + s}, [s]), why,
      s === "offered" ? el("span", {"class": "offer"}, [task.offered_to === actor ? "offered to you" : "offered to " + task.offered_to]) : "",
      el("span", {"class": "muted"}, [task.channel + (task.priority && task.priority !== "normal" ? " · " + task.priority : "") +
        (task.skill ? " · " + task.skill : "") + " · rule " + task.reason.rule + " · " +
        (task.score == null ? "" : "P(abandon) " + Number(task.score).toFixed(2) + " · ") + clock(task.created_at * 1000)])
    ]);
    var evidence = el("ul", {"class": "evidence"}, (task.reason.evidence || []).map(function (e) { return el("li", {}, [e]); }));
    if (task.reason.why) evidence.appendChild(el("li", {"class": "value"}, [task.reason.why]));
    var items = el("ul", {}, (cart.items || []).map(function (i) {
      return el("li", {}, [i.quantity + " × " + i.name + " (" + money(i.price) + ")"]);
    }));
    var timeline = el("ul", {"class": "timeline"}, (ctx.timeline || []).slice().reverse().map(function (t) {
      return el("li", {}, [clock(t.at) + "  " + t.what + (t.detail ? ": " + t.detail : "")]);
    }));
    var grid = el("div", {"class": "grid"}, [
      el("div", {}, [el("h3", {}, ["Why this shopper"]), evidence]),
      el("div", {}, [el("h3", {}, ["Cart"]), el("div", {"class": "cart-value"}, [money(cart.value)]), items,
        el("h3", {style: "margin-top:10px"}, ["Step"]), el("div", {"class": "step"}, [ctx.step || "—"])]),
      el("div", {}, [el("h3", {}, ["Timeline"]), timeline])
    ]);
    var actions = el("div", {"class": "actions"});
    if (claimable(task, s)) {
      var claim = el("button", {"class": "primary claim"}, ["Claim"]);
      claim.onclick = function () { api("/api/tasks/" + encodeURIComponent(task.id) + "/claim"); };
      actions.appendChild(claim);
      actions.appendChild(el("span", {"class": "muted"}, ["expires " + clock(task.expires_at * 1000)]));
    } else if (s === "offered") {
      actions.appendChild(el("span", {"class": "muted"}, ["for " + task.offered_to + " to claim until " + clock(task.expires_at * 1000)]));
    } else if (s === "claimed" && task.agent !== actor && actor !== "admin") {
      actions.appendChild(el("span", {"class": "muted"}, ["claimed by " + task.agent]));
    } else if (s === "claimed") {
      ["converted", "helped", "no_answer", "declined"].forEach(function (o) {
        var b = el("button", {"class": "close-" + o}, [o.replace("_", " ")]);
        b.onclick = function () { api("/api/tasks/" + encodeURIComponent(task.id) + "/close", {outcome: o}); };
        actions.appendChild(b);
      });
    } else if (s === "closed") {
      actions.appendChild(el("span", {"class": "muted"}, ["closed: " + task.outcome]));
    }
    var mine = s === "offered" && task.offered_to === actor;
    var node = el("section", {"class": "task " + s + (mine ? " mine" : ""), "data-task": task.id, "data-anonymous-id": task.anonymous_id},
      [head, el("div", {"class": "muted shopper"}, ["shopper " + task.anonymous_id + (task.user_id ? " · user " + task.user_id : "")]), grid, actions]);
    return node;
  }

  function render() {
    var ids = Object.keys(tasks).sort(function (a, b) { return tasks[b].created_at - tasks[a].created_at; });
    list.replaceChildren.apply(list, ids.map(function (id) { return card(tasks[id]); }));
    empty.hidden = ids.length > 0;
  }

  function upsert(task) { tasks[task.id] = task; render(); }

  fetch("/api/tasks", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (j) {
    (j.tasks || []).forEach(function (t) { tasks[t.id] = t; });
    render();
    var feed = new EventSource("/console/feed");
    var live = document.getElementById("live");
    feed.onopen = function () { live.textContent = "live"; };
    feed.onerror = function () { live.textContent = "reconnecting…"; };
    feed.onmessage = function (e) { upsert(JSON.parse(e.data)); };
  });
  setInterval(render, 15000);  // open and offered tasks turn to expired as time passes

  // Your status: a change is sent at once (the form carries its own anti-forgery token).
  var statusSelect = document.getElementById("status");
  if (statusSelect) statusSelect.onchange = function () { statusSelect.form.submit(); };
})();
