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

  // The chat of a claimed chat task: made once per task and moved into each new render of its card, so
  // the conversation (followed live over SSE) and a half-typed reply survive the re-renders.
  var chats = {};
  function chat(task) {
    if (chats[task.id]) return chats[task.id];
    var log = el("ul", {"class": "chat-log"});
    var text = el("input", {"class": "chat-text", maxlength: "1000", "aria-label": "Reply to the shopper"});
    var form = el("form", {"class": "chat-form"}, [text, el("button", {"class": "primary chat-send", type: "submit"}, ["Send"])]);
    var source = new EventSource("/api/tasks/" + encodeURIComponent(task.id) + "/chat/live");
    source.onmessage = function (e) {
      var m = JSON.parse(e.data);
      log.appendChild(el("li", {"class": "chat-" + m.who}, [clock(m.at * 1000) + "  " + (m.who === "agent" ? m.name || "agent" : "shopper") + ": " + m.text]));
      log.scrollTop = log.scrollHeight;
    };
    form.onsubmit = function (e) {
      e.preventDefault();
      if (!text.value.trim()) return;
      fetch("/api/tasks/" + encodeURIComponent(task.id) + "/chat", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-Handrail-Console": "1"},
        body: JSON.stringify({text: text.value})
      }).then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error); text.value = ""; }); })
        .catch(function (err) { alert(err.message); });
    };
    chats[task.id] = {node: el("div", {"class": "chat"}, [el("h3", {}, ["Chat"]), log, form]), form: form, source: source};
    return chats[task.id];
  }

  // The screen pop of a task the agent claimed: fetched once (GET /api/tasks/<id>: the customer, past orders
  // and tasks, a suggested first line); while it stays claimed, the shopper's live session is polled and its
  // new timeline entries are merged into the card's, so the agent sees what the shopper does meanwhile.
  var pops = {};
  function entryKey(t) { return t.at + "|" + t.what + "|" + t.detail; }
  function merged(known, live) {
    var seen = {};
    known.forEach(function (t) { seen[entryKey(t)] = true; });
    var added = live.filter(function (t) { return !seen[entryKey(t)]; });
    return added.length ? known.concat(added).sort(function (a, b) { return a.at - b.at; }) : null;
  }
  function pop(task) {
    if (pops[task.id]) return pops[task.id];
    var p = pops[task.id] = {data: null, timeline: ((task.context || {}).timeline || []).slice()};
    fetch("/api/tasks/" + encodeURIComponent(task.id), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j) { p.data = j.pop; render(); } });
    p.timer = setInterval(function () {
      if (status(tasks[task.id]) !== "claimed") { clearInterval(p.timer); return; }
      fetch("/api/sessions/" + encodeURIComponent(task.anonymous_id), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (live) {
          var more = live && merged(p.timeline, live.timeline || []);
          if (more) { p.timeline = more; render(); }
        });
    }, 3000);
    return p;
  }
  // A known customer's past orders and tasks (each with the end of its chat): the screen pop's and the search's.
  function historyNodes(orders, pastTasks) {
    return [el("h3", {}, ["Past orders"]), orders.length ? el("ul", {"class": "past-orders"}, orders.map(function (o) {
        return el("li", {}, [new Date(o.at * 1000).toLocaleDateString() + "  " + (o.order_id || "order") + " · " + money(o.revenue)]);
      })) : el("p", {"class": "muted past-orders"}, ["none"]),
      el("h3", {}, ["Past tasks"]), pastTasks.length ? el("ul", {"class": "past-tasks"}, pastTasks.map(function (t) {
        return el("li", {"data-task": t.id}, [new Date(t.created_at * 1000).toLocaleDateString() + "  " + t.channel + " · rule " + t.rule +
          " · " + (t.outcome || t.status) + (t.credited ? " · bought " + money(t.credited.revenue) : ""),
          t.transcript.length ? el("ul", {"class": "transcript"}, t.transcript.map(function (m) {
            return el("li", {}, [(m.who === "agent" ? m.name || "agent" : "shopper") + ": " + m.text]);
          })) : el("div", {"class": "muted"}, ["no chat"])]);
      })) : el("p", {"class": "muted past-tasks"}, ["none"])];
  }

  function popNode(task, data) {
    var who = data.customer, traits = Object.keys(who.traits || {});
    var use = el("button", {"class": "use-line", type: "button"}, ["Use"]);
    use.onclick = function () {
      var input = chats[task.id] && chats[task.id].form.querySelector(".chat-text");
      if (input) { input.value = data.suggested_line; input.focus(); }
    };
    var customer = [el("h3", {}, ["Customer"]),
      el("div", {"class": "segments"}, [(who.segments || []).length ? "segments: " + who.segments.join(", ") : "no segment"]),
      el("ul", {"class": "traits"}, traits.map(function (k) { return el("li", {}, [k + ": " + who.traits[k]]); }))];
    var history = who.user_id ? historyNodes(data.orders, data.past_tasks)
      : [el("p", {"class": "muted no-history"}, ["Not signed in: no past orders or tasks to show."])];
    return el("div", {"class": "pop"}, [
      el("div", {"class": "suggested"}, [el("h3", {}, ["Suggested first line"]),
        el("p", {"class": "suggested-line"}, [data.suggested_line]), task.channel === "chat" ? use : ""]),
      el("div", {"class": "grid"}, [el("div", {"class": "customer"}, customer), el("div", {"class": "history"}, history)])
    ]);
  }

  function card(task) {
    var s = status(task), ctx = task.context || {}, cart = ctx.cart || {items: [], value: 0};
    var p = s === "claimed" && (task.agent === actor || actor === "admin") ? pop(task) : pops[task.id];
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
    var timeline = el("ul", {"class": "timeline"}, ((p && p.timeline) || ctx.timeline || []).slice().reverse().map(function (t) {
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
    } else if (s === "sent" || s === "failed") {  // email, sms, webhook: no agent, only the delivery
      actions.appendChild(el("span", {"class": "muted delivery"}, [s + " " + clock((task.sent_at || task.failed_at) * 1000) + (task.error ? ": " + task.error : "")]));
    } else if (s === "closed") {
      actions.appendChild(el("span", {"class": "muted"}, ["closed: " + task.outcome]));
    }
    var chatting = task.channel === "chat" && (s === "claimed" && (task.agent === actor || actor === "admin") || chats[task.id]);
    if (chatting) {
      var c = chat(task);
      if (s !== "claimed") { c.source.close(); c.form.hidden = true; }  // over: the transcript stays, read-only
    }
    var mine = s === "offered" && task.offered_to === actor;
    var node = el("section", {"class": "task " + s + (mine ? " mine" : ""), "data-task": task.id, "data-anonymous-id": task.anonymous_id},
      [head, el("div", {"class": "muted shopper"}, ["shopper " + task.anonymous_id + (task.user_id ? " · user " + task.user_id : ""),
        // The tel: link is made of digits and + only (dispatch/channels/contact.py): it cannot be a script URL.
        task.contact && task.contact.tel ? el("span", {}, [" · ", el("a", {"class": "tel", href: task.contact.tel}, [task.contact.phone])]) : ""]), grid,
       p && p.data ? popNode(task, p.data) : "", chatting ? chats[task.id].node : "", actions,
       task.credited ? el("div", {"class": "credited"}, ["credited: order " + (task.credited.order_id || "-") + " · " + money(task.credited.revenue)]) : "",
       task.expired_reason ? el("div", {"class": "muted expired-reason"}, ["withdrawn: " + task.expired_reason]) : ""]);
    return node;
  }

  function render() {
    var typing = document.activeElement && document.activeElement.closest && document.activeElement.closest(".chat") && document.activeElement;
    var ids = Object.keys(tasks).sort(function (a, b) { return tasks[b].created_at - tasks[a].created_at; });
    list.replaceChildren.apply(list, ids.map(function (id) { return card(tasks[id]); }));
    empty.hidden = ids.length > 0;
    if (typing) typing.focus();  // a re-render moved the chat: the agent keeps typing where she was
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
  // Dead letters (the admin's only): sends that failed for good, each with a retry button.
  var dead = document.getElementById("dead-letters");
  function deadLetters() {
    fetch("/api/dead-letters", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (j) {
      var letters = j.dead_letters || [];
      dead.hidden = letters.length === 0;
      document.getElementById("dead-letter-list").replaceChildren.apply(document.getElementById("dead-letter-list"), letters.map(function (d) {
        var retry = el("button", {"class": "retry"}, ["Retry"]);
        retry.onclick = function () {
          fetch("/api/dead-letters/" + encodeURIComponent(d.id) + "/retry", {method: "POST", credentials: "same-origin",
            headers: {"X-Handrail-Console": "1"}}).then(deadLetters);
        };
        return el("li", {"data-job": d.id}, [clock(d.failed_at * 1000) + "  " + (d.channel || "job") + " · task " + (d.task_id || "-") + " · " + d.error + " ", retry]);
      }));
    });
  }
  if (dead && actor === "admin") { deadLetters(); setInterval(deadLetters, 30000); }

  // Find a customer by phone, email or user id (GET /api/customers/lookup): who calls in, seen at once.
  var finder = document.getElementById("find-customer"), found = document.getElementById("found");
  function profileNode(c) {
    var traits = Object.keys(c.traits || {}), cart = c.open_cart;
    var who = [el("h3", {}, ["Customer"]), el("div", {"class": "customer-name"}, [c.traits.name || c.traits.first_name || c.user_id]),
      el("div", {"class": "muted"}, ["user " + c.user_id + (c.site ? " · shop " + c.site : "") + (c.live ? " · on the site now" : "")]),
      el("div", {"class": "segments"}, [c.segments.length ? "segments: " + c.segments.join(", ") : "no segment"]),
      el("ul", {"class": "traits"}, traits.map(function (k) { return el("li", {}, [k + ": " + c.traits[k]]); }))];
    var now = [el("h3", {}, ["Suggested offer"]), el("p", {"class": "suggested-offer"}, [c.suggested_offer]),
      el("h3", {}, [c.live ? "Cart now" : "Cart left"]), cart ? el("div", {"class": "open-cart"}, [money(cart.value),
        el("ul", {}, (cart.items || []).map(function (i) { return el("li", {}, [i.quantity + " × " + i.name + " (" + money(i.price) + ")"]); }))])
        : el("p", {"class": "muted open-cart"}, ["none"]),
      el("h3", {}, ["Trouble" + (c.step ? " · step " + c.step : "")]), c.trouble.length ? el("ul", {"class": "trouble"}, c.trouble.map(function (t) {
        return el("li", {}, [clock(t.at) + "  " + t.what + (t.detail ? ": " + t.detail : "")]);
      })) : el("p", {"class": "muted trouble"}, ["none"])];
    return el("section", {"class": "task customer-found", "data-user": c.user_id}, [el("div", {"class": "grid"}, [
      el("div", {}, who), el("div", {}, now), el("div", {"class": "history"}, historyNodes(c.orders, c.past_tasks))])]);
  }
  if (finder) finder.onsubmit = function (e) {
    e.preventDefault();
    var kind = document.getElementById("find-kind").value, value = document.getElementById("find-value").value.trim();
    if (!value) return;
    fetch("/api/customers/lookup?" + encodeURIComponent(kind) + "=" + encodeURIComponent(value), {credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error); return j; }); })
      .then(function (j) { found.replaceChildren.apply(found, j.customers.map(profileNode)); })
      .catch(function (err) { found.replaceChildren(el("p", {"class": "muted find-error"}, [err.message])); });
  };

  var statusSelect = document.getElementById("status");
  if (statusSelect) statusSelect.onchange = function () { statusSelect.form.submit(); };
})();
