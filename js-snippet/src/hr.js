/* Handrail snippet: Segment-shaped events out (page views, checkout steps, friction signals), agent
   invitations in. Readable source: build.sh makes dist/hr.min.js, whose gzipped size has a budget
   of 3,000 bytes (hence `let` throughout, which the minifier merges, and short names for the
   per-page state). It reads no input value and no keystroke, sets no cookie, never throws into the
   host page, and loads the chat widget (widget.js) only when an invitation arrives. */
(function (w, d, loc, nav) {
  let VERSION = 2; // the snippet's version, also the mark that it has loaded (handrail.v)
  let BATCH = 20; // messages per request: a full batch is sent at once
  let EVERY = 2000; // ms between flushes, doubled after each failure up to MAX_WAIT
  let MAX_WAIT = 60000; // ms
  let KEEP = 100; // undelivered messages kept in sessionStorage for the next page
  let PER_MINUTE = 120; // messages sent per minute at most; the rest are dropped
  let HEARTBEAT = 15; // seconds of visible time between heartbeats
  let IDLE = 30; // seconds without input, page visible, before an Idle
  let RAGE = 1000; // ms: 3 clicks within this time, each within 30 px of the last
  let DEAD = 2500; // ms: a click on a control that changes nothing in this time is dead
  let JS_ERRORS = 5; // JS Error messages per page at most
  // Query parameters that may carry personal data are dropped from every URL sent.
  let PERSONAL = /mail|phone|tel|token|pass|name|addr|zip|card|secret|auth/i;
  let FIELD = 'input,select,textarea';
  let CONTROL = 'a,button,[role=button],[type=submit],[type=button]';
  let SS = 'sessionStorage';
  let json = JSON.stringify; // as it is now: a script the page runs later may replace it

  let warn = (e) => console.warn('[handrail]', e);
  let warned = {};
  let once = (text) => warned[text] || warn(warned[text] = text);
  let safe = (f) => (...a) => { try { return f(...a); } catch (e) { warn(e); } };
  let on = (target, type, f, options) => target.addEventListener(type, safe(f), options);
  // Storage can throw (privacy modes, sandboxed frames): then nothing is kept.
  let get = safe((store, k) => w[store].getItem(k));
  let put = safe((store, k, v) => w[store][v == null ? 'removeItem' : 'setItem'](k, v));
  let now = () => Date.now();
  let iso = (t) => new Date(t || now()).toISOString();
  let id = () => now().toString(36) + Math.random().toString(36).slice(2);
  let here = () => loc.href.split('#')[0];
  let attr = (e, n) => e.getAttribute(n);
  let text = (e, n) => e.textContent.trim().replace(/\s+/g, ' ').slice(0, n);

  function clean(url) {
    let u = new URL(url, loc), kept = new URLSearchParams();
    u.searchParams.forEach((v, k) => PERSONAL.test(k) || /@/.test(v) || kept.append(k, v));
    u.search = kept;
    return u.href;
  }

  function start() {
    let prev = w.handrail;
    if (prev && prev.v) return; // included twice: the first copy runs
    let s = d.currentScript;
    let data = (n) => attr(s, 'data-' + n);
    let calls;
    let handrail = w.handrail = safe((method, ...args) => calls[method](...args)); // an unknown one warns
    handrail.v = VERSION;
    // The site asks us to honour Global Privacy Control and Do Not Track: then nothing is sent at all.
    if (data('respect-dnt') != null && (nav.globalPrivacyControl || nav.doNotTrack == '1')) {
      return (w.handrail = () => {}).v = VERSION;
    }

    let key = data('key');
    let api = data('api') || new URL(s.src).origin; // no trailing slash
    let url = api + '/v1/batch';
    // Never a cookie. Where localStorage throws (get gives undefined, where getItem of a key we never
    // set gives null), this tab's sessionStorage keeps them, so that the next page has the same id.
    let ids = data('cookieless') != null || get('localStorage', SS) !== null ? SS : 'localStorage';
    // Error messages: data-hr-error, and the site's own selector if it parses.
    let errors = '[data-hr-error]', errorSelector = data('error-selector');
    try { d.querySelector(errorSelector && (errors += ',' + errorSelector)); } catch (e) { warn(e); errors = '[data-hr-error]'; }
    let off = get(ids, 'hr_consent') == '0';
    // tok: the visitor token for the inbox and chat, handed out once with the first page view's answer
    // (tracker/visitor_token.py), kept beside the id it was made for.
    let aid = get(ids, 'hr_aid'), tok = aid && get(ids, 'hr_tok'), uid = get(ids, 'hr_uid');
    put(ids, 'hr_aid', aid = aid || id());
    // What this tab kept from its last page (saved on pagehide): q, the undelivered messages, and
    // h, the last paths seen. busy: the batch in flight; due: when the clock may flush next.
    let { q = [], h = [] } = safe(() => JSON.parse(get(SS, 'hr')))() || {};
    let busy = 0, due = 0, wait = EVERY, minute = 0, count = 0;
    // page: this page's seconds visible (v), JS errors (e), exit intent (x), steps seen ('s' + name).
    let last = here(), referrer = d.referrer, page;

    let info = () => ({ url: clean(loc), path: loc.pathname, title: d.title, referrer: referrer && clean(referrer) });
    let body = (batch) => json({ writeKey: key, batch: batch, sentAt: iso() });

    function send(m) {
      let t = now();
      if (off) return;
      if (t - minute > 60000) minute = t, count = 0;
      if (++count > PER_MINUTE) return once('too many messages: dropped');
      // at most 2 * KEEP + PER_MINUTE are held: a failed batch is put back with slice(-2 * KEEP)
      q.push({ ...m, anonymousId: aid, userId: uid, messageId: id(), timestamp: iso(t),
        context: { page: info(), timezone: Intl.DateTimeFormat().resolvedOptions().timeZone } });
      // userAgent: the collector takes it from the request's header, which costs the script nothing
      if (q[BATCH - 1]) flush();
    }

    function flush(beacon) {
      if (off) q = [];
      if (beacon) {
        // The page is going away: sendBeacon outlives it. After failures, the next page sends instead.
        while (wait == EVERY && q[0] && nav.sendBeacon(url, body(q.slice(0, BATCH)))) q.splice(0, BATCH);
        // The batch in flight may not arrive: it is sent again (the collector drops repeats).
        return put(SS, 'hr', json({ q: [...(busy || []), ...q].slice(-KEEP), h: h }));
      }
      if (busy || !q[0]) return;
      // A JSON.stringify the page broke before we loaded throws or gives no text: the batch waits,
      // rather than go out empty and be refused.
      let out = body(q.slice(0, BATCH));
      if (!out) return;
      busy = q.splice(0, BATCH);
      // A string body goes as text/plain: a simple request, no preflight. cors mode (the default)
      // lets us read the status; keepalive lets it finish if the page goes away meanwhile.
      fetch(url, { method: 'POST', body: out, keepalive: true })
        .then((r) => (r.json().then((j) => j.token && put(ids, 'hr_tok', tok = j.token), warn), r.status), () => 0)
        .then((status) => {
          let failed = !status || status == 429 || status > 499; // retried; any other 4xx: dropped
          if (failed) q = [...busy, ...q].slice(-2 * KEEP);
          else if (status > 399) once('batch refused: ' + status);
          wait = failed ? Math.min(wait * 2, MAX_WAIT) : EVERY;
          busy = 0;
          due = now() + (failed ? wait : q[BATCH - 1] ? 0 : EVERY);
        });
    }

    let track = (event, props) => send({ type: 'track', event: String(event), properties: { ...props } });

    function view() {
      page = { v: 0, e: 0 };
      send({ type: 'page', properties: info() });
      // Back and forth: the last four distinct paths are A, B, A, B.
      let path = loc.pathname;
      if (h[h.length - 1] != path) h.push(path);
      h = h.slice(-4);
      if (h[3] && h[0] == h[2] && h[1] == h[3]) track('Back And Forth', { from: h[2], to: h[3] }), h = [path];
      scan();
    }

    // Single-page apps: a new URL (the hash aside) is a new page.
    let route = safe(() => {
      if (here() != last) referrer = last, last = here(), view();
    });
    ['pushState', 'replaceState'].forEach((k) => {
      let original = history[k];
      history[k] = function () {
        let r = original.apply(this, arguments); // a call that throws changed nothing
        route();
        return r;
      };
    });
    w.addEventListener('popstate', route);

    /* Signals: rage and dead clicks, form errors, JS errors, exit intent, idle, heartbeat. */
    let fieldName = (f) => f && (f.name || f.id) || '';
    // What a shopper typed can show up in a message ("'ada@example' is missing an '@'"): masked.
    let formError = (field, message) => track('Form Error', {
      field: field,
      message: (message || '').replace(/(^|\s)['"‘“«].*?['"’”»]|\S+@\S+/g, '$1…').slice(0, 150)
    });

    function describe(e) {
      let path = [];
      for (let x = e; x && !path[3]; x = !x.id && x.parentElement) {
        path.unshift(x.localName + (x.id ? '#' + x.id : x.classList[0] ? '.' + x.classList[0] : ''));
      }
      // A field's text is what the shopper typed: never sent.
      return { selector: path.join('>').slice(0, 100), text: e.matches(FIELD) || e.isContentEditable ? '' : text(e, 50) };
    }

    let burst = { t: 0 }, dead, quiet = 0; // quiet: visible seconds without input
    on(d, 'click', (e) => {
      if (!e.isTrusted) return; // a script's el.click() is not the shopper's
      let t = now(), x = e.clientX, y = e.clientY, target = e.target, control = target.closest(CONTROL);
      // A burst starts at its first click; each next one must come within 30 px of the last.
      if (t - burst.t > RAGE || Math.hypot(x - burst.x, y - burst.y) > 30) burst = { t: t, n: 0 };
      burst.x = x; burst.y = y;
      if (++burst.n == 3) track('Rage Click', describe(control || target));
      // A link to another page is on its way there (or to a new tab): not dead.
      dead = control && !(control.href && control.href.split('#')[0] != last) && { t: t, e: e, control: control };
    }, true);
    // Only the time of input is noted, never what was typed.
    'mousemove keydown scroll touchstart input'.split(' ').forEach((type) =>
      on(d, type, (e) => {
        quiet = 0;
        if (/^(sc|inp)/.test(e.type)) dead = 0;
      }, true));
    on(d, 'invalid', (e) => { dead = 0; formError(fieldName(e.target), e.target.validationMessage); }, true);

    on(w, 'error', (e) => {
      if (page.e++ < JS_ERRORS) {
        track('JS Error', { message: e.message.slice(0, 200), source: clean(e.filename), line: e.lineno });
      }
    });
    on(d, 'mouseout', (e) => {
      if (!e.relatedTarget && e.clientY <= 0 && !page.x && page.v > 1) // a second on the page at least
        page.x = 1, track('Exit Intent');
    });
    /* No-code markup: data-hr-step, data-hr-error, aria-invalid, the site's error selector. */
    let state = new WeakMap();
    // Calls f when an element's value becomes truthy or changes (an error shown, a new message).
    let changed = (e, value, f) => { if (value && value != state.get(e)) f(); state.set(e, value); };

    function fieldOf(e) {
      let f = attr(e, 'data-hr-error');
      if (f) return f;
      for (let p = e; !f && (p = p.parentElement) && p != d.body;) f = p.querySelector(FIELD);
      return fieldName(f);
    }

    let dirty;
    function scan() {
      dirty = 0;
      d.querySelectorAll('[data-hr-step],[aria-invalid],' + errors).forEach((e) => {
        let step = attr(e, 'data-hr-step'), invalid = attr(e, 'aria-invalid'), m;
        if (step) {
          if (!page['s' + step]) page['s' + step] = 1, track('Checkout Step Viewed', { step_name: step.slice(0, 40) });
        } else if (invalid) {
          changed(e, invalid == 'true', () => {
            m = d.getElementById((attr(e, 'aria-describedby') || '').split(' ')[0]);
            formError(fieldName(e), m ? text(m) : e.validationMessage);
          });
        } else {
          m = e.getClientRects().length && text(e); // formError masks the whole text, then cuts it
          changed(e, m, () => formError(fieldOf(e), m));
        }
      });
    }
    new MutationObserver(() => { dead = 0; dirty = 1; }).observe(d.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });

    /* The visitor inbox: invitations and chat arrive over SSE; the widget module that shows them is
       imported on the first (a dynamic import carries this script's CSP nonce). */
    let inbox, widget;
    function listen() {
      if (off || inbox || !tok) return;
      inbox = new EventSource(api + '/v1/inbox?' + new URLSearchParams({ writeKey: key, anonymousId: aid, token: tok }));
      // The widget gets the event itself (it parses the data, and its chat requests carry the inbox URL's
      // query), and track and flush: an answer is sent at once, an agent is waiting on it.
      inbox.onmessage = (e) => (widget = widget || import(api + '/hr-widget.js')).then((x) => x.default(e, track, flush), warn);
    }
    let hang = () => inbox = inbox?.close();

    calls = {
      track: track,
      page: (name, props) => {
        if (name && typeof name == 'object') props = name, name = 0;
        send({ type: 'page', name: name ? String(name) : undefined, properties: { ...info(), ...props } });
      },
      identify: (userId, traits) => {
        if (userId && typeof userId == 'object') traits = userId, userId = null;
        if (userId != null) put(ids, 'hr_uid', uid = String(userId));
        send({ type: 'identify', traits: { ...traits } });
      },
      // consent false: nothing more is sent (remembered); consent true: sending resumes.
      consent: (yes) => {
        let was = off;
        off = !yes;
        put(ids, 'hr_consent', off ? '0' : null);
        if (off) hang();
        else if (was) view();
      }
    };

    on(w, 'pagehide', () => { dead = 0; flush(1); hang(); }); // an open SSE keeps a page out of the bfcache
    on(w, 'pageshow', (e) => e.persisted && view());

    // The clock, every second: flush, (re)open the inbox once there is a token, scan what changed, then
    // what only a visible page counts.
    setInterval(safe(() => {
      let t = now();
      if (t >= due) flush();
      listen();
      if (dirty) scan();
      if (dead && t - dead.t >= DEAD) {
        if (!dead.e.defaultPrevented) track('Dead Click', describe(dead.control));
        dead = 0;
      }
      if (d.hidden) return;
      if (++page.v % HEARTBEAT == 0) track('Heartbeat', { seconds: page.v });
      if (++quiet == IDLE) track('Idle', { seconds: IDLE });
    }), 1000);

    view();
    // Replay what the page asked for before we loaded (the queue stub).
    ((prev && prev.q) || []).forEach((args) => handrail(...args));
  }

  try { start(); } catch (e) { warn(e); } // never throw into the host page
})(window, document, location, navigator);
