// The dashboard page: polls the JSON API of `rmq dashboard` and redraws. Text always goes in
// through textContent (never as HTML), since topic names, keys and bodies come from clients.
'use strict';

const state = { polls: 0, chartPoints: 0, lastRates: null, view: null, errors: 0 };
window.__dashboard = state;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c === undefined || c === null ? '' : String(c)));
  return e;
}

async function getJson(path, init) {
  const res = await fetch(path, init);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

function setStatus(text) {
  document.getElementById('status').textContent = text;
}

function notice(text) {
  document.getElementById('notice').textContent = text;
}

// ---- broker groups ----

function renderGroups(data) {
  document.getElementById('namesrv').textContent = `NameServer ${data.namesrvAddr}`;
  const box = document.getElementById('groups');
  box.replaceChildren();
  for (const g of data.groups) {
    const rows = g.nodes.map((n) => el('tr', { 'data-node': n.nodeId, 'data-role': n.role },
      el('td', {}, n.nodeId),
      el('td', { class: `role-${n.role}` }, n.role),
      el('td', {}, n.liveness),
      el('td', { class: 'num' }, n.term ?? ''),
      el('td', { class: 'num' }, n.commitIndex ?? ''),
      el('td', { class: 'num' }, n.appliedIndex ?? ''),
      el('td', { class: 'num' }, n.lagEntries ?? ''),
      el('td', {}, n.brokerAddr),
      el('td', {}, n.liveness === 'up' && n.role !== 'LEADER'
        ? el('button', { onclick: () => askTransfer(g.brokerName, n.nodeId) }, 'make leader…')
        : '')));
    box.append(el('div', { class: 'group', 'data-group': g.brokerName },
      el('h3', {}, `${g.brokerName} `, el('span', { class: 'muted' }, g.clusterName ? `(cluster ${g.clusterName})` : ''), ' leader ',
        el('strong', { id: `leader-${g.brokerName}`, class: 'leader' }, g.leader ?? 'none'), ' term ', el('span', {}, g.term ?? '–')),
      el('table', {}, el('thead', {}, el('tr', {}, ...['node', 'role', 'liveness', 'term', 'commit', 'applied', 'lag (entries)', 'address', ''].map((h) => el('th', {}, h)))), el('tbody', {}, ...rows))));
  }
  if (data.groups.length === 0) box.append(el('p', { class: 'muted' }, 'no broker group is registered with the NameServer'));
}

// ---- rates and chart ----

async function setUpChart() {
  const spec = await getJson('/api/chart-spec');
  state.view = new vega.View(vega.parse(spec), { renderer: 'svg', container: '#chart', hover: true });
  await state.view.runAsync();
}

async function renderRates(points) {
  const last = points[points.length - 1];
  if (last) {
    state.lastRates = last;
    document.getElementById('produce-rate').textContent = last.producePerSec;
    document.getElementById('consume-rate').textContent = last.consumePerSec;
    document.getElementById('send-latency').textContent = last.sendLatencyMs === null ? '–' : last.sendLatencyMs;
  }
  if (state.view === null) return;
  const rows = [];
  for (const p of points) {
    rows.push({ t: p.t, series: 'produce', perSec: p.producePerSec });
    rows.push({ t: p.t, series: 'consume', perSec: p.consumePerSec });
  }
  state.view.data('rates', rows);
  await state.view.runAsync();
  state.chartPoints = points.length;
}

// ---- topics and consumers ----

function renderTopics(data) {
  const body = document.querySelector('#topics tbody');
  body.replaceChildren(...data.topics.map((t) => el('tr', { 'data-topic': t.topic }, el('td', {}, t.topic), el('td', { class: 'num' }, t.queues), el('td', { class: 'num' }, t.maxOffsets))));
}

function renderConsumers(data) {
  const rows = [...data.lag].sort((a, b) => (a.consumerGroup + a.topic).localeCompare(b.consumerGroup + b.topic) || a.queueId - b.queueId);
  document.querySelector('#consumers tbody').replaceChildren(...rows.map((r) => el('tr', { 'data-group': r.consumerGroup },
    el('td', {}, r.consumerGroup), el('td', {}, r.topic), el('td', {}, r.brokerGroup), el('td', { class: 'num' }, r.queueId), el('td', { class: 'num' }, r.lag))));
  document.querySelector('#members tbody').replaceChildren(...(data.groups || []).map((g) => el('tr', { 'data-group': g.group },
    el('td', {}, g.group), el('td', { class: 'num' }, g.members.length), el('td', {}, g.members.join(', ') || 'none online'))));
  document.querySelector('#assignments tbody').replaceChildren(...(data.groups || []).flatMap((g) => (g.assignments || []).map((a) => el('tr', { 'data-group': g.group, 'data-client': a.clientId },
    el('td', {}, g.group), el('td', {}, a.clientId),
    el('td', {}, a.error ? `cannot tell: ${a.error}` : a.queues.map((q) => `${q.topic} ${q.brokerName}/${q.queueId}`).join(', ') || 'no queue')))));
}

// ---- message lookup ----

function renderMessages(messages) {
  const box = document.getElementById('lookup-results');
  box.replaceChildren(...messages.map((m) => el('div', { class: 'message', 'data-msg-id': m.msgId },
    el('div', {}, el('strong', {}, m.msgId), ` ${m.topic} · ${m.brokerName || ''} queue ${m.queueId} offset ${m.queueOffset} · stored ${new Date(m.storeTimestamp).toISOString()} on ${m.storeHost}`),
    el('div', {}, `keys ${m.keys.join(', ') || '–'} · tags ${m.tags ?? '–'} · ${m.bodyBytes} bytes · reconsumed ${m.reconsumeTimes} times`),
    el('div', {}, 'consumed by: ', m.consumers.length === 0 ? 'no group has offsets on this topic' : m.consumers.map((c) => `${c.group} ${c.consumed ? '✓' : '✗'}`).join(', ')),
    el('table', { class: 'headers' }, el('tbody', {}, ...Object.entries(m.properties).map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', {}, v))))),
    el('pre', { class: 'body-preview' }, m.bodyPreview))));
}

async function lookUp(ev) {
  ev.preventDefault();
  const q = new URLSearchParams();
  for (const [field, name] of [['lookup-topic', 'topic'], ['lookup-key', 'key'], ['lookup-time', 'time'], ['lookup-id', 'id']]) {
    const v = document.getElementById(field).value.trim();
    if (v !== '') q.set(name, v);
  }
  const box = document.getElementById('lookup-results');
  box.textContent = 'looking up…';
  try {
    const r = await getJson(`/api/message?${q}`);
    if (r.error) box.textContent = r.error;
    else renderMessages(r.messages);
  } catch (err) {
    box.textContent = err.message;
  }
}

// ---- admin actions, each behind a confirmation ----

function confirmThen(text, action) {
  const box = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  box.hidden = false;
  const done = () => {
    box.hidden = true;
    document.getElementById('confirm-yes').onclick = null;
    document.getElementById('confirm-no').onclick = null;
  };
  document.getElementById('confirm-no').onclick = done;
  document.getElementById('confirm-yes').onclick = async () => {
    done();
    try {
      notice(await action());
    } catch (err) {
      notice(`failed: ${err.message}`);
    }
  };
}

function askTransfer(brokerName, nodeId) {
  confirmThen(`Transfer the leadership of ${brokerName} to ${nodeId}? Sends pause briefly while it moves.`, async () => {
    const r = await getJson('/api/transfer-leader', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ brokerName, targetNodeId: nodeId, confirm: true }) });
    return `${brokerName}: leadership moved from ${r.previousLeader} to ${r.newLeader} (term ${r.term})`;
  });
}

function askCreateTopic(ev) {
  ev.preventDefault();
  const topic = document.getElementById('new-topic').value.trim();
  const queues = Number(document.getElementById('new-topic-queues').value);
  if (topic === '') return notice('give the new topic a name');
  confirmThen(`Create topic ${topic} with ${queues} queues on every broker group?`, async () => {
    const r = await getJson('/api/topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic, queues, confirm: true }) });
    return `topic ${topic} created on ${r.createdOn.join(', ')}`;
  });
}

// ---- polling ----

async function poll() {
  try {
    const [overview, rates] = await Promise.all([getJson('/api/overview'), getJson('/api/rates')]);
    renderGroups(overview);
    await renderRates(rates.points);
    if (state.polls % 3 === 0) {
      renderConsumers(await getJson('/api/consumers'));
      renderTopics(await getJson('/api/topics'));
    }
    state.polls++;
    setStatus(overview.error ? `cannot read the cluster: ${overview.error}` : `updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    state.errors++;
    setStatus(`cannot read the cluster: ${err.message}`);
  } finally {
    setTimeout(poll, 1000);
  }
}

document.getElementById('lookup-form').addEventListener('submit', lookUp);
document.getElementById('create-topic-form').addEventListener('submit', askCreateTopic);
setUpChart().catch((err) => setStatus(`chart unavailable: ${err.message}`)).finally(poll);
