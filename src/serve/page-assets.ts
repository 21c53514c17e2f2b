/**
 * The page's style and script (src/serve/page.ts inlines them under the response's CSP nonce).
 * The script: one EventSource on `/api/events?page=1` whose `page` events replace the live part
 * (server-rendered, already escaped); buttons and forms POST JSON to the API with the page's
 * cookie; receipts are shown with `textContent` only (never parsed as HTML). It reconnects after a
 * refused or lost stream.
 */

/** CSS: one column under 700 px (a phone), evidence and claim columns dropped there. */
export const PAGE_STYLE = `
:root{color-scheme:light dark;--bad:#c62828;--warn:#b26a00;--ok:#2e7d32;--muted:#888}
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:8px}
header{display:flex;align-items:baseline;gap:12px}h1{font-size:1.2em;margin:4px 0}h2{font-size:1em;margin:14px 0 6px}
.muted,small{color:var(--muted)}small{display:block;font-size:.8em}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 6px;border-bottom:1px solid #8884;vertical-align:top}
.evidence{font-size:.85em;word-break:break-word}
.r-dead,.r-stuck{color:var(--bad);font-weight:600}.r-waiting{color:var(--warn);font-weight:600}.r-working{color:var(--ok)}.r-stale,.r-unknown{color:var(--muted)}
.waiting{border:2px solid var(--warn);border-radius:8px;padding:8px;margin:8px 0}
.waiting h3{margin:0}.prompt{white-space:pre-wrap;word-break:break-word;font-size:.85em;background:#8881;padding:6px;max-height:40vh;overflow:auto}
.buttons{display:flex;gap:8px}button{font-size:1em;padding:10px 16px;border-radius:6px;border:1px solid #8888}
button.allow{background:#2e7d3222}button.deny{background:#c6282822}button:disabled{opacity:.5}
.paused{background:var(--bad);color:#fff;padding:6px;border-radius:6px}
.receipt{border-left:4px solid var(--ok);padding:4px 8px;margin:6px 0;background:#8881}.receipt.bad{border-color:var(--bad)}
.receipt pre{white-space:pre-wrap;margin:4px 0;font-size:.85em}
.feed{list-style:none;padding:0;font-size:.9em}.feed .attention{color:var(--warn)}
form{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}input{font-size:1em;padding:8px;flex:1 1 140px}
@media (max-width:700px){.evidence,.claim,th:nth-child(4),th:last-child{display:none}td,th{padding:6px 4px}}
`;

/** The client: live updates over SSE, actions as JSON POSTs, receipts as text. */
export const PAGE_SCRIPT = `
(() => {
  const live = document.getElementById('live');
  const conn = document.getElementById('conn');
  const receipts = document.getElementById('receipts');
  let source = null;
  function connect() {
    source = new EventSource('/api/events?page=1');
    source.addEventListener('page', (e) => { live.innerHTML = e.data; conn.textContent = 'live'; });
    source.onopen = () => { conn.textContent = 'live'; };
    source.onerror = () => {
      conn.textContent = 'reconnecting';
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }
  connect();
  function show(ok, title, lines) {
    const box = document.createElement('div');
    box.className = 'receipt ' + (ok ? 'ok' : 'bad');
    const head = document.createElement('strong');
    head.textContent = title;
    const pre = document.createElement('pre');
    pre.textContent = lines.filter(Boolean).join('\\n');
    box.append(head, pre);
    receipts.prepend(box);
    while (receipts.children.length > 8) receipts.lastChild.remove();
  }
  async function post(url, body) {
    try {
      const res = await fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      let json = null;
      try { json = await res.json(); } catch { json = { error: res.statusText }; }
      return { status: res.status, json };
    } catch (error) {
      return { status: 0, json: { error: String(error) } };
    }
  }
  function describe(kind, r) {
    const j = r.json || {};
    if (r.status !== 200) return [false, kind + ' failed (HTTP ' + r.status + ')', [j.error || '']];
    if (kind === 'answer') {
      const p = j.prompt ? [j.prompt.tool, j.prompt.detail].filter(Boolean).join(' ') : '';
      return [j.status === 'answered', 'ANSWER ' + String(j.status).toUpperCase() + ': ' + j.agent + ' ' + (j.answer === 'allow' ? 'allow once' : 'deny'),
        [p, j.reason, ...(j.evidence || []), j.recorded ? 'recorded: ' + j.recorded : '']];
    }
    if (kind === 'send') return [j.status !== 'refused', 'SEND ' + String(j.status).toUpperCase() + ': ' + j.agent, [j.reason, ...(j.evidence || [])]];
    return [!j.error, kind.toUpperCase() + (j.error ? ' REFUSED' : ' DONE'), [j.error, j.reason, j.by ? 'by ' + j.by : '']];
  }
  document.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (!b) return;
    b.disabled = true;
    const card = b.closest('.buttons');
    if (card) for (const x of card.querySelectorAll('button')) x.disabled = true;
    let r;
    if (b.dataset.action === 'answer') {
      r = await post('/api/agents/' + encodeURIComponent(b.dataset.agent) + '/answer', { answer: b.dataset.answer, promptId: b.dataset.promptId });
      const [ok, title, lines] = describe('answer', r);
      show(ok, title, lines);
    } else if (b.dataset.action === 'resume') {
      r = await post('/api/resume', {});
      const [ok, title, lines] = describe('resume', r);
      show(ok, title, lines);
    }
    b.disabled = false;
  });
  const send = document.getElementById('send');
  if (send) send.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const agent = send.elements.agent.value.trim();
    const r = await post('/api/agents/' + encodeURIComponent(agent) + '/send', { message: send.elements.message.value });
    const [ok, title, lines] = describe('send', r);
    show(ok, title, lines);
    if (ok) send.elements.message.value = '';
  });
  const pause = document.getElementById('pause');
  if (pause) pause.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await post('/api/pause', { reason: pause.elements.reason.value });
    const [ok, title, lines] = describe('pause', r);
    show(ok, title, lines);
  });
})();
`;
