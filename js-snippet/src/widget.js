/* Handrail chat invitation: an ES module that hr.js imports only when the visitor inbox brings an
   invitation. hr.js calls the default export with each invitation and an `answer` function that
   tracks the reply and sends it at once. Same ids and behaviour as ever: #hr-invite,
   #hr-invite-accept, #hr-invite-dismiss, text set with textContent only. */
const ANSWERED = 'hr_t'; // sessionStorage: task ids this tab answered, so no page shows them again
const REMEMBER = 50; // answered task ids kept
const shown = {}; // task ids shown on this page

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

export default function show(m, answer) {
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
      };
      box.appendChild(b);
    });
  (document.body || document.documentElement).appendChild(box);
}
