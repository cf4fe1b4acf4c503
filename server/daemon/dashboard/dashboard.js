// futured's dashboard: polls the daemon's JSON endpoints once a second and
// draws the overview, the recent futures and one future's page. Every value
// from the daemon is written with textContent, never as HTML.
'use strict';

const POLL_MS = 1000;
let token = sessionStorage.getItem('futured-token') || '';
let timer = null;
let skeletonFor = null;  // the route whose static part is on the page

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined) node.append(c);
  }
  return node;
}

async function api(path, options) {
  const headers = Object.assign({}, (options || {}).headers);
  if (token) headers['Authorization'] = 'Bearer ' + token;
  const response = await fetch(path, Object.assign({}, options, {headers, cache: 'no-store'}));
  let body = null;
  try { body = await response.json(); } catch (e) { body = {error: 'not JSON'}; }
  if (response.status === 401) {
    showLogin(body.error);
    throw new Error('unauthenticated');
  }
  if (!response.ok) throw new Error(body.error || ('HTTP ' + response.status));
  return body;
}

function showLogin(message) {
  document.getElementById('login').hidden = false;
  document.getElementById('view').replaceChildren();
  skeletonFor = null;
  document.getElementById('login-error').textContent = token ? message : '';
}

function seconds(s) {
  if (s === null || s === undefined) return '';
  if (s < 0.001) return (s * 1e6).toFixed(0) + ' µs';
  if (s < 1) return (s * 1e3).toFixed(1) + ' ms';
  if (s < 120) return s.toFixed(1) + ' s';
  return (s / 60).toFixed(1) + ' min';
}

function statusCell(status) {
  return el('td', {class: 'status-' + status, text: status});
}

function progressBar(progress) {
  if (!progress) return '';
  const pct = Math.round(progress.fraction * 100);
  const bar = el('span', {class: 'bar', role: 'progressbar',
                          'aria-valuenow': String(pct), 'aria-valuemin': '0', 'aria-valuemax': '100',
                          title: progress.message});
  const fill = el('span');
  fill.style.width = pct + '%';
  bar.append(fill);
  return el('span', {}, bar, ' ' + pct + '% ', el('span', {class: 'progress-message', text: progress.message}));
}

function futureLink(f) {
  return el('a', {href: '#/future/' + encodeURIComponent(f.id), text: f.id.slice(0, 8)});
}

function errorText(f) {
  return f.error ? f.error.type + ': ' + f.error.message : '';
}

function table(headings, rows) {
  const head = el('tr', {}, ...headings.map(h => el('th', {text: h})));
  return el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows));
}

function num(n) { return el('td', {class: 'num', text: String(n)}); }

const PLOT_SECONDS = 300;  // the daemon keeps this many samples

function plot(points) {
  const w = 600, h = 120, pad = 24;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'plot');
  svg.setAttribute('width', w);
  svg.setAttribute('height', h);
  svg.setAttribute('aria-label', 'futures done per second');
  const max = Math.max(1, ...points.map(p => p.per_second));
  const n = points.length;
  const last = n ? Date.parse(points[n - 1].time) : 0;
  const line = document.createElementNS(svg.namespaceURI, 'polyline');
  line.setAttribute('points', points.map(p => {
    const age = (last - Date.parse(p.time)) / 1000;
    const x = w - pad - (age / PLOT_SECONDS) * (w - 2 * pad);
    const y = h - pad - (p.per_second / max) * (h - 2 * pad);
    return x.toFixed(1) + ',' + y.toFixed(1);
  }).join(' '));
  svg.append(line);
  const label = document.createElementNS(svg.namespaceURI, 'text');
  label.setAttribute('x', pad);
  label.setAttribute('y', 12);
  label.textContent = 'futures done per second over the last ' + PLOT_SECONDS / 60 +
      ' minutes: max ' + max.toFixed(1) + ', now ' + (n ? points[n - 1].per_second.toFixed(1) : '0');
  svg.append(label);
  return svg;
}

async function renderOverview(view) {
  const o = await api('/api/overview');
  const cards = el('div', {class: 'cards'},
    ...o.pools.map(p => el('div', {class: 'card', 'data-pool': p.name},
      el('div', {text: p.name + ' (' + p.kind + ')'}),
      el('div', {class: 'figure', text: p.running + ' running'}),
      el('div', {text: p.queued + ' queued, ' + p.workers + ' workers, ' + p.worker_restarts + ' restarts'}))));
  const workers = [];
  for (const p of o.pools) {
    for (const w of p.worker_list) {
      const task = w.task;
      workers.push(el('tr', {class: 'worker'},
        el('td', {text: p.name}),
        el('td', {text: w.pid ? 'process ' + w.pid : 'thread ' + w.index}),
        el('td', {}, task ? futureLink(task) : (w.busy ? 'busy' : 'idle')),
        el('td', {text: task ? task.function : ''}),
        el('td', {text: task ? seconds(task.run_seconds) : ''}),
        el('td', {}, task ? progressBar(task.progress) : '')));
    }
  }
  const functions = o.functions.map(f => el('tr', {class: 'function'},
    el('td', {text: f.name}), num(f.finished), num(f.failed), num(f.cancelled),
    el('td', {class: 'num', text: seconds(f.p50_seconds)}),
    el('td', {class: 'num', text: seconds(f.p90_seconds)}),
    el('td', {class: 'num', text: seconds(f.p99_seconds)})));
  view.replaceChildren(
    el('h2', {text: 'Pools'}), cards,
    el('h2', {text: 'Throughput'}), plot(o.throughput),
    el('h2', {text: 'Workers'}),
    table(['pool', 'worker', 'future', 'function', 'running for', 'progress'], workers),
    el('h2', {text: 'Functions'}),
    table(['function', 'finished', 'failed (timeouts too)', 'cancelled', 'p50', 'p90', 'p99'], functions),
    el('p', {text: o.futures_in_table + ' futures in the table · futured ' + o.version +
             ' · up since ' + o.start_time}),
    el('p', {class: 'journal', text: o.journal
      ? 'Journal ' + o.journal.path + ': ' + o.journal.commits + ' commits, ' +
        o.journal.records + ' records (' +
        (o.journal.commits ? (o.journal.records / o.journal.commits).toFixed(1) : '0') +
        ' per commit), ' + o.journal.failed_commits + ' failed, ' +
        (o.journal.file_bytes / 1048576).toFixed(1) + ' MiB'
      : 'Journal: none (--state_dir=none), futures live in memory only'}));
}

function futuresSkeleton(view) {
  const state = el('select', {id: 'filter-state', 'aria-label': 'state'},
    ...['', 'pending', 'running', 'finished', 'failed', 'cancelled'].map(
      s => el('option', {value: s, text: s || 'any state'})));
  const fn = el('input', {id: 'filter-function', placeholder: 'function', 'aria-label': 'function'});
  const form = el('form', {class: 'filters'}, state, fn);
  form.addEventListener('submit', e => { e.preventDefault(); refresh(); });
  state.addEventListener('change', refresh);
  view.replaceChildren(el('h2', {text: 'Recent futures'}), form, el('div', {id: 'futures-list'}));
}

async function renderFutures(view) {
  const params = new URLSearchParams();
  const state = document.getElementById('filter-state').value;
  const fn = document.getElementById('filter-function').value.trim();
  if (state) params.set('state', state);
  if (fn) params.set('function', fn);
  const list = await api('/api/futures?' + params.toString());
  const rows = list.futures.map(f => el('tr', {class: 'future', 'data-id': f.id},
    el('td', {}, futureLink(f)), el('td', {text: f.function}), el('td', {text: f.pool}),
    statusCell(f.status), el('td', {}, progressBar(f.progress)),
    el('td', {class: 'error', text: errorText(f)}),
    el('td', {text: seconds(f.run_seconds)}), el('td', {text: f.submit_time})));
  document.getElementById('futures-list').replaceChildren(
    table(['future', 'function', 'pool', 'state', 'progress', 'error', 'run time', 'submitted'], rows),
    el('p', {text: list.matched + ' shown of the ' + list.scanned + ' most recent'}));
}

async function cancel(id) {
  const result = document.getElementById('cancel-result');
  try {
    const f = await api('/api/futures/' + encodeURIComponent(id) + '/cancel',
                        {method: 'POST', headers: {'X-Futured-Action': 'cancel'}});
    result.textContent = f.status === 'running'
        ? 'cancel requested: the task was told to stop'
        : 'cancel requested: ' + f.status;
  } catch (e) {
    result.textContent = 'cancel failed: ' + e.message;
  }
  refresh();
}

function futureSkeleton(view, id) {
  const button = el('button', {id: 'cancel', type: 'button', text: 'Cancel this future'});
  button.addEventListener('click', () => cancel(id));
  view.replaceChildren(el('h2', {text: 'Future ' + id}), el('div', {id: 'future-fields'}),
                       el('p', {}, button, ' ', el('span', {id: 'cancel-result'})));
}

async function renderFuture(view, id) {
  const f = await api('/api/futures/' + encodeURIComponent(id));
  const fields = [
    ['function', f.function], ['pool', f.pool],
    ['arguments', f.args ? JSON.stringify(f.args) : 'not known: ' + f.args_unknown],
    ['state', f.status],
    ['error', errorText(f)], ['value', f.value === null ? '' : JSON.stringify(f.value)],
    ['worker', f.worker_pid ? 'process ' + f.worker_pid : (f.start_time ? 'thread' : '')],
    ['submitted', f.submit_time], ['started', f.start_time || ''], ['ended', f.end_time || ''],
    ['run time', seconds(f.run_seconds)], ['deadline', f.deadline || 'none'],
    ['attempt', f.max_attempts > 1 ? f.attempt + ' of ' + f.max_attempts : '1'],
    ['earlier attempts', f.earlier_attempts.map(
        a => '#' + a.attempt + ' ' + a.type + ': ' + a.message).join('; ')]];
  const dl = el('dl', {class: 'fields'});
  for (const [k, v] of fields) {
    dl.append(el('dt', {text: k}), el('dd', {id: 'field-' + k.replace(' ', '-'),
                                             class: k === 'state' ? 'status-' + f.status : (k === 'error' ? 'error' : ''),
                                             text: v}));
  }
  dl.append(el('dt', {text: 'progress'}), el('dd', {id: 'field-progress'}, progressBar(f.progress)));
  document.getElementById('future-fields').replaceChildren(dl);
  const done = f.status !== 'pending' && f.status !== 'running';
  document.getElementById('cancel').disabled = done;
}

async function refresh() {
  clearTimeout(timer);
  const view = document.getElementById('view');
  const route = location.hash.replace(/^#/, '') || '/';
  const status = document.getElementById('status');
  try {
    if (route.startsWith('/future/')) {
      const id = decodeURIComponent(route.slice('/future/'.length));
      if (skeletonFor !== route) { futureSkeleton(view, id); skeletonFor = route; }
      await renderFuture(view, id);
    } else if (route === '/futures') {
      if (skeletonFor !== route) { futuresSkeleton(view); skeletonFor = route; }
      await renderFutures(view);
    } else {
      skeletonFor = '/';
      await renderOverview(view);
    }
    document.getElementById('login').hidden = true;
    status.textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    status.textContent = e.message === 'unauthenticated' ? '' : 'error: ' + e.message;
  }
  timer = setTimeout(refresh, POLL_MS);
}

async function whoAmI() {
  try {
    const o = await api('/api/overview');
    document.getElementById('who').textContent =
        o.principal ? 'signed in as ' + o.principal + (o.sees_all ? ' (operator)' : '') : '';
  } catch (e) { /* the login form says why */ }
}

document.getElementById('login-form').addEventListener('submit', e => {
  e.preventDefault();
  token = document.getElementById('token').value.trim();
  sessionStorage.setItem('futured-token', token);
  whoAmI();
  refresh();
});
window.addEventListener('hashchange', refresh);
whoAmI();
refresh();
