/* Handrail snippet 0.1.0: Segment-shaped events out, agent invites in. */
(function (w, d) {
  'use strict';
  var VERSION = '0.1.0', MAX = 20, EVERY = 2000; // flush at 20 messages or every 2 s

  function warn(e) { try { console.warn('[handrail]', e); } catch (_) {} }
  // localStorage can throw (privacy modes, sandboxed frames): fall back to memory.
  function get(k) { try { return localStorage.getItem(k); } catch (_) { return null; } }
  function set(k, v) { try { localStorage.setItem(k, v); } catch (_) {} }
  function obj(x) { return x && typeof x === 'object' ? x : {}; }

  function uuid() {
    var c = w.crypto;
    if (c.randomUUID) return c.randomUUID(); // secure contexts only
    var b = c.getRandomValues(new Uint8Array(16));
    b[6] = b[6] & 15 | 64; b[8] = b[8] & 63 | 128;
    var h = [].map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
  }

  function start() {
    var prev = w.handrail;
    if (prev && prev.v) return; // included twice: the first copy runs

    var s = d.currentScript || d.querySelector('script[data-key][src*="hr.js"]');
    var key = s.getAttribute('data-key') || '';
    var api = (s.getAttribute('data-api') || new URL(s.src, location.href).origin).replace(/\/+$/, '');
    var url = api + '/v1/batch';
    var aid = get('hr_aid') || uuid(), uid = get('hr_uid'), tz;
    set('hr_aid', aid);
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (_) {}
    var q = [], timer = 0, wait = EVERY;

    function pageInfo() {
      return { url: location.href, path: location.pathname, title: d.title, referrer: d.referrer };
    }

    function send(m) {
      m.anonymousId = aid;
      if (uid) m.userId = uid;
      m.messageId = uuid();
      m.timestamp = new Date().toISOString();
      m.context = { page: pageInfo(), userAgent: navigator.userAgent, timezone: tz,
        library: { name: 'handrail.js', version: VERSION } };
      q.push(m);
      if (q.length >= MAX) flush();
      else if (!timer) timer = setTimeout(flush, wait);
    }

    function body(batch) {
      return JSON.stringify({ writeKey: key, batch: batch, sentAt: new Date().toISOString() });
    }

    // text/plain and no-cors: no preflight, and delivery needs no CORS headers. The reply is
    // opaque, so only a network failure is retried (messageId lets the server drop duplicates).
    function post(batch) {
      fetch(url, { method: 'POST', body: body(batch), keepalive: true, mode: 'no-cors',
        headers: { 'Content-Type': 'text/plain' } })
        .then(function () { wait = EVERY; })
        .catch(function () {
          q = batch.concat(q).slice(0, 200); // keep them, and back off
          wait = Math.min(wait * 2, 60000);
          if (!timer) timer = setTimeout(flush, wait);
        });
    }

    function flush(beacon) {
      clearTimeout(timer); timer = 0;
      try {
        while (q.length) {
          var b = q.splice(0, MAX);
          // sendBeacon outlives the page; it cannot set headers, hence writeKey in the body.
          if (!(beacon === true && navigator.sendBeacon &&
                navigator.sendBeacon(url, new Blob([body(b)], { type: 'text/plain' })))) post(b);
        }
      } catch (e) { warn(e); }
    }

    var calls = {
      track: function (event, props) {
        send({ type: 'track', event: String(event), properties: obj(props) });
      },
      page: function (name, props) {
        if (typeof name === 'object') { props = name; name = 0; }
        var m = { type: 'page', properties: Object.assign(pageInfo(), obj(props)) };
        if (name) m.name = String(name);
        send(m);
      },
      identify: function (id, traits) {
        if (typeof id === 'object') { traits = id; id = null; }
        if (id != null) set('hr_uid', uid = String(id));
        send({ type: 'identify', traits: obj(traits) });
      }
    };

    function handrail(method) {
      try {
        if (!calls[method]) return warn('unknown call ' + method);
        calls[method].apply(null, [].slice.call(arguments, 1));
      } catch (e) { warn(e); }
    }
    handrail.v = VERSION;
    w.handrail = handrail;

    d.addEventListener('visibilitychange', function () {
      if (d.visibilityState === 'hidden') flush(true);
    });
    w.addEventListener('pagehide', function () { flush(true); });

    handrail('page');
    // Replay what the page asked for before we loaded.
    ((prev && prev.q) || []).forEach(function (args) { handrail.apply(null, args); });

    /* Visitor inbox: invites pushed over SSE. */
    var shown = {}, es;

    function el(tag, css, text) {
      var e = d.createElement(tag);
      // all:initial keeps the host page's CSS out of the box.
      e.style.cssText = 'all:initial;box-sizing:border-box;font:14px/1.4 system-ui,sans-serif;color:#222;' + css;
      e.textContent = text || ''; // never innerHTML: the text comes from the server
      return e;
    }

    function invite(m) {
      var id = m.task_id;
      if (d.getElementById('hr-invite') || shown[id]) return;
      shown[id] = 1;
      var box = el('div', 'display:block;position:fixed;right:16px;bottom:16px;z-index:2147483647;' +
        'max-width:320px;padding:14px 16px;background:#fff;border:1px solid #ccc;border-radius:8px;' +
        'box-shadow:0 4px 16px rgba(0,0,0,.15)');
      box.id = 'hr-invite';
      box.setAttribute('role', 'dialog');
      box.setAttribute('aria-label', 'Help');
      box.appendChild(el('p', 'display:block;margin:0 0 10px', String(m.text || '')));
      [['accept', 'Chat now', 'Accepted', '#222;color:#fff'], ['dismiss', 'No thanks', 'Dismissed', '#fff']]
        .forEach(function (a) {
          var b = el('button', 'display:inline-block;margin-right:8px;padding:6px 12px;border-radius:5px;' +
            'cursor:pointer;border:1px solid #555;background:' + a[3], a[1]);
          b.id = 'hr-invite-' + a[0];
          b.type = 'button';
          b.onclick = function () {
            box.remove();
            handrail('track', 'Invite ' + a[2], { task_id: id });
            flush(); // an agent is waiting on the answer
          };
          box.appendChild(b);
        });
      d.body.appendChild(box);
    }

    function listen() {
      if (!w.EventSource || es) return;
      es = new EventSource(api + '/v1/inbox?writeKey=' + encodeURIComponent(key) +
        '&anonymousId=' + encodeURIComponent(aid));
      es.onmessage = function (e) {
        try {
          var m = JSON.parse(e.data);
          if (m && m.type === 'invite') invite(m);
        } catch (x) { warn(x); }
      };
    }
    // An open stream keeps a page out of the back/forward cache: close it on leave.
    w.addEventListener('pagehide', function () { if (es) es.close(); es = 0; });
    w.addEventListener('pageshow', function (e) { if (e.persisted) listen(); });
    listen();
  }

  try { start(); } catch (e) { warn(e); } // never throw into the host page
})(window, document);
