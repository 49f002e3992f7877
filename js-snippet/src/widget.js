/* Handrail chat: an ES module that hr.js imports only when the visitor inbox brings a message. hr.js
   calls the default export with each inbox event (its data is the message; its target, the inbox,
   whose URL carries the write key, the visitor's id and token) and its own track and flush.
   An invitation shows #hr-invite (#hr-invite-accept, #hr-invite-dismiss); the answer is tracked and
   sent at once. Accepting opens the chat panel #hr-chat: the shopper's messages are POSTed to
   /visitor/chat, the agent's arrive through the inbox. All text is set with textContent only. */
const ANSWERED = 'hr_t'; // sessionStorage: task ids this tab answered, so no page shows them again
const REMEMBER = 50; // answered task ids kept
const CHATTING = 'hr_c'; // sessionStorage: the task whose chat this tab accepted, reopened on a new page
const MAX_TEXT = 1000; // characters in one message, as the server caps it
const shown = {}; // task ids shown on this page
const said = {}; // ids of the chat messages shown on this page
let panel; // the open chat: { task, log, error }

function answered() {
  try { return JSON.parse(sessionStorage.getItem(ANSWERED)) || []; } catch (_) { return []; }
}

function remember(id) {
  try { sessionStorage.setItem(ANSWERED, JSON.stringify(answered().concat(id).slice(-REMEMBER))); } catch (_) {}
}

function el(tag, css, text) {
  const e = document.createElement(tag);
  // all:initial keeps the host page's CSS out of the box.
  e.style.cssText = 'all:initial;box-sizing:border-box;font:14px/1.4 system-ui,sans-serif;color:#222;' + css;
  e.textContent = text || ''; // never innerHTML: the text comes from the server
  return e;
}

function chatting() {
  try { return sessionStorage.getItem(CHATTING); } catch (_) { return null; }
}

function line(who, text) {
  const mine = who == 'shopper';
  const p = el('div', 'display:block;margin:4px 0;padding:6px 9px;border-radius:8px;max-width:85%;' +
    (mine ? 'margin-left:auto;background:#222;color:#fff' : 'background:#eef1f5'), text);
  p.className = 'hr-msg hr-' + who;
  panel.log.appendChild(p);
  panel.log.scrollTop = panel.log.scrollHeight;
}

function open(task, inbox) {
  if (panel) return;
  try { sessionStorage.setItem(CHATTING, task); } catch (_) {}
  const q = new URL(inbox).searchParams;
  const box = el('div', 'display:flex;flex-direction:column;position:fixed;right:16px;bottom:16px;' +
    'z-index:2147483647;width:320px;height:380px;padding:12px;background:#fff;border:1px solid #ccc;' +
    'border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.15)');
  box.id = 'hr-chat';
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-label', 'Chat');
  const log = el('div', 'display:block;flex:1;overflow:auto;margin-bottom:8px');
  log.id = 'hr-chat-log';
  log.setAttribute('aria-live', 'polite');
  const error = el('div', 'display:block;color:#b00;font-size:12px');
  error.id = 'hr-chat-error';
  const form = el('form', 'display:flex;gap:6px');
  const input = el('input', 'display:block;flex:1;padding:6px 8px;border:1px solid #999;border-radius:5px');
  input.id = 'hr-chat-text';
  input.maxLength = MAX_TEXT;
  input.setAttribute('aria-label', 'Your message');
  const send = el('button', 'display:block;padding:6px 12px;border-radius:5px;cursor:pointer;' +
    'border:1px solid #222;background:#222;color:#fff', 'Send');
  send.id = 'hr-chat-send';
  form.append(input, send);
  form.onsubmit = (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    error.textContent = '';
    fetch(new URL('/visitor/chat', inbox), { method: 'POST', body: JSON.stringify({
      writeKey: q.get('writeKey'), anonymousId: q.get('anonymousId'), token: q.get('token'), task_id: task, text: text
    }) }).then((r) => r.json().then((j) => {
      if (!r.ok) throw new Error(j.error);
      input.value = '';
      said[j.message.id] = 1;
      line('shopper', j.message.text);
    })).catch((e) => { error.textContent = 'Not sent: ' + e.message; });
  };
  box.append(el('strong', 'display:block;margin-bottom:6px', 'Chat with us'), log, error, form);
  panel = { task: task, log: log };
  (document.body || document.documentElement).appendChild(box);
  input.focus();
}

export default function show(e, track, flush) {
  const m = JSON.parse(e.data), inbox = e.target.url;
  if (m.type == 'chat') {
    if (m.task == chatting()) open(m.task, inbox); // the agent writes: the chat shows on this page too
    if (panel && m.task == panel.task && !said[m.id]) said[m.id] = 1, line(m.who, m.text);
    return;
  }
  if (m.type != 'invite') return;
  const answer = (event, props) => { track(event, props); flush(); }; // an agent is waiting on it
  const id = m.task_id;
  if (document.getElementById('hr-invite') || shown[id] || answered().indexOf(id) >= 0) return;
  shown[id] = 1;
  const box = el('div', 'display:block;position:fixed;right:16px;bottom:16px;z-index:2147483647;' +
    'max-width:320px;padding:14px 16px;background:#fff;border:1px solid #ccc;border-radius:8px;' +
    'box-shadow:0 4px 16px rgba(0,0,0,.15)');
  box.id = 'hr-invite';
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-label', 'Help');
  box.appendChild(el('p', 'display:block;margin:0 0 10px', String(m.text || '')));
  [['accept', 'Chat now', 'Accepted', '#222;color:#fff'], ['dismiss', 'No thanks', 'Dismissed', '#fff']]
    .forEach(([name, label, event, colours]) => {
      const b = el('button', 'display:inline-block;margin-right:8px;padding:6px 12px;border-radius:5px;' +
        'cursor:pointer;border:1px solid #555;background:' + colours, label);
      b.id = 'hr-invite-' + name;
      b.type = 'button';
      b.onclick = () => {
        box.remove();
        remember(id);
        answer('Invite ' + event, { task_id: id });
        if (name == 'accept') open(id, inbox);
      };
      box.appendChild(b);
    });
  (document.body || document.documentElement).appendChild(box);
}
