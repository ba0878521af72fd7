// Admin dashboard: a small hash-routed page over the admin API. No framework and no innerHTML: every piece of data
// reaches the page as a text node or an attribute set through the DOM, so nothing the API returns can become markup.
'use strict';

(() => {
  const TOKEN_KEY = 'durable-tasks.admin.token';
  const STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'paused'];
  const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
  const PRIORITIES = ['critical', 'high', 'normal', 'low'];
  const PERIODS = ['1h', '24h', '7d', '30d', '90d'];
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const view = document.getElementById('view');
  const dialog = document.getElementById('dialog');
  let me = null;
  let timers = [];

  // ---------------------------------------------------------------- DOM helpers

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    appendAll(el, children);
    return el;
  }

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    appendAll(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key === 'class') el.setAttribute('class', value);
      else if (key === 'value' && 'value' in el) el.value = String(value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }

  function appendAll(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
  }

  function clear(el, ...children) {
    el.replaceChildren();
    appendAll(el, children);
    return el;
  }

  /** Only http(s) links leave the page: a javascript: URL in the data must not become a clickable script. */
  function safeUrl(url) {
    try {
      const parsed = new URL(String(url), location.origin);
      return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
    } catch {
      return null;
    }
  }

  function externalLink(url, text) {
    const href = safeUrl(url);
    return href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'external' }, text) : null;
  }

  function jobLink(job) {
    return h('a', { href: `#/jobs/${encodeURIComponent(job.task_id || job.id)}`, class: 'mono' }, job.task_id || String(job.id));
  }

  function badge(status) {
    return h('span', { class: `badge status-${String(status).replace(/[^a-z_]/g, '')}`, 'data-status': status }, status);
  }

  function notice(text, kind = 'info') {
    return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  }

  function json(value) {
    return h('pre', { class: 'code' }, JSON.stringify(value, null, 2));
  }

  function collapsible(summary, ...content) {
    return h('details', {}, h('summary', {}, summary), ...content);
  }

  function panel(title, ...content) {
    return h('section', { class: 'panel' }, title ? h('h2', {}, title) : null, ...content);
  }

  function table(headers, rows, empty = 'Nothing to show.') {
    if (rows.length === 0) return h('p', { class: 'muted' }, empty);
    return h('table', {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows));
  }

  // ---------------------------------------------------------------- formatting

  function fmtTime(value) {
    if (!value) return '—';
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function fmtSeconds(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return '—';
    const s = Number(seconds);
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  }

  function fmtMs(ms) {
    return ms === null || ms === undefined ? '—' : fmtSeconds(Number(ms) / 1000);
  }

  /** failure_rate is a percentage (0–100) in the admin API, like alert thresholds. */
  function fmtRate(rate) {
    return rate === null || rate === undefined ? '—' : `${Number(rate).toFixed(1)} %`;
  }

  function fmtNumber(n) {
    return n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 });
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      const fields = body && body.field_errors ? Object.entries(body.field_errors).map(([k, v]) => `${k}: ${[].concat(v).join(', ')}`) : [];
      super([(body && body.detail) || `HTTP ${status}`, ...fields].join(' — '));
      this.status = status;
      this.body = body;
      this.retryAfter = retryAfter;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { detail: text };
    }
    if (!res.ok) {
      if (res.status === 401 && path !== '/auth/login') {
        logout('Your session has ended; log in again.');
      }
      throw new ApiError(res.status, data, res.headers.get('Retry-After'));
    }
    return data;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  /** A page link from the API (absolute or relative URL with a cursor) as the query of a view's hash. */
  function pageHash(viewName, link) {
    const url = new URL(link, location.origin);
    return `#/${viewName}?${url.searchParams.toString()}`;
  }

  // ---------------------------------------------------------------- session and routing

  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    me = null;
    showChrome(false);
    renderLogin(message);
  }

  function showChrome(visible) {
    document.getElementById('nav').hidden = !visible || !me;
    document.getElementById('who').hidden = !visible;
  }

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, '');
    const [path, search] = raw.split('?');
    const parts = (path || '').split('/').filter(Boolean);
    return { name: parts[0] || 'overview', arg: parts[1] ? decodeURIComponent(parts[1]) : null, params: new URLSearchParams(search || '') };
  }

  function every(ms, fn) {
    timers.push(setInterval(fn, ms));
  }

  const VIEWS = {
    overview: renderOverview,
    jobs: (route, root) => (route.arg ? renderJob(route, root) : renderJobs(route, root)),
    failed: renderFailed,
    bulk: renderBulk,
    audit: renderAudit,
  };

  async function render() {
    for (const t of timers) clearInterval(t);
    timers = [];
    if (dialog.open) dialog.close();
    if (!sessionStorage.getItem(TOKEN_KEY)) return renderLogin();
    if (!me) {
      try {
        me = await api('GET', '/admin/me');
      } catch (err) {
        if (err.status === 403) return renderDenied(err);
        if (err.status === 401) return undefined;
        return clear(view, notice(`Could not load your profile: ${err.message}`, 'error'));
      }
    }
    document.getElementById('who-name').textContent = me.username;
    document.getElementById('who-role').textContent = me.can_write ? me.role : `${me.role} · read-only`;
    showChrome(true);
    const route = parseHash();
    const draw = VIEWS[route.name] || renderOverview;
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === route.name);
    const root = h('div', { class: `view view-${route.name}` });
    clear(view, root);
    try {
      await draw(route, root);
    } catch (err) {
      root.append(notice(err.message || String(err), 'error'));
    }
    return undefined;
  }

  window.addEventListener('hashchange', () => void render());
  document.getElementById('logout').addEventListener('click', () => logout('You are logged out.'));

  // ---------------------------------------------------------------- login and access denied

  function renderLogin(message) {
    showChrome(false);
    const error = h('p', { id: 'login-error', class: 'notice error', role: 'alert', hidden: true });
    const username = h('input', { name: 'username', id: 'username', autocomplete: 'username', required: true, maxlength: 150 });
    const password = h('input', { name: 'password', id: 'password', type: 'password', autocomplete: 'current-password', required: true, maxlength: 1024 });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
    const form = h(
      'form',
      { id: 'login-form', class: 'login', novalidate: false },
      h('h1', {}, 'Back office login'),
      message ? notice(message) : null,
      h('label', { for: 'username' }, 'Username'),
      username,
      h('label', { for: 'password' }, 'Password'),
      password,
      error,
      submit,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.hidden = true;
      try {
        const res = await api('POST', '/auth/login', { username: username.value, password: password.value });
        sessionStorage.setItem(TOKEN_KEY, res.token);
        me = null;
        // Setting the hash renders through hashchange; on an unchanged hash render directly.
        if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/overview';
        else await render();
      } catch (err) {
        error.textContent =
          err.status === 429
            ? `Too many failed attempts. Try again in ${err.retryAfter || 'a few'} seconds.`
            : err.status === 401
              ? 'Invalid username or password.'
              : err.message;
        error.hidden = false;
        password.value = '';
        password.focus();
      } finally {
        submit.disabled = false;
      }
    });
    clear(view, form);
    username.focus();
  }

  function renderDenied(err) {
    me = null;
    document.getElementById('who-name').textContent = '';
    document.getElementById('who-role').textContent = '';
    showChrome(true);
    clear(
      view,
      h(
        'section',
        { class: 'denied', id: 'access-denied' },
        h('h1', {}, 'Access denied'),
        h('p', {}, 'The back office is for administrators. Your account has no admin role.'),
        h('p', { class: 'muted' }, err.message),
        h('button', { type: 'button', class: 'primary', onclick: () => logout('You are logged out.') }, 'Log in as someone else'),
      ),
    );
  }

  // ---------------------------------------------------------------- overview

  async function renderOverview(route, root) {
    const period = PERIODS.includes(route.params.get('period')) ? route.params.get('period') : '24h';
    const bucket = period === '1h' || period === '24h' || period === '7d' ? 'hour' : 'day';
    root.append(
      h(
        'div',
        { class: 'toolbar' },
        h('h1', {}, 'Overview'),
        h(
          'div',
          { class: 'segmented', role: 'group', 'aria-label': 'Period' },
          PERIODS.map((p) => h('a', { href: `#/overview?period=${p}`, class: p === period ? 'active' : null }, p)),
        ),
      ),
    );
    const statsBox = h('div', { id: 'stats' }, h('p', { class: 'muted' }, 'Loading statistics…'));
    const chartBox = panel('Jobs over time', h('p', { class: 'muted' }, 'Loading trends…'));
    chartBox.id = 'trends';
    const alertsBox = panel('Active alerts', h('p', { class: 'muted' }, 'Loading alerts…'));
    alertsBox.id = 'alerts';
    const breakdown = h('div', { class: 'columns' });
    root.append(statsBox, h('div', { class: 'columns' }, chartBox, alertsBox), breakdown);

    const [stats, trends, alerts] = await Promise.allSettled([
      api('GET', `/admin/jobs/stats${query({ period })}`),
      api('GET', `/admin/jobs/trends${query({ period, bucket })}`),
      api('GET', '/admin/alerts/active'),
    ]);

    if (stats.status === 'fulfilled') {
      const { totals, live } = stats.value;
      const card = (label, value, kind) => h('div', { class: `card ${kind || ''}` }, h('div', { class: 'card-value' }, value), h('div', { class: 'card-label' }, label));
      clear(
        statsBox,
        h(
          'div',
          { class: 'cards' },
          card('jobs', fmtNumber(totals.total)),
          card('completed', fmtNumber(totals.completed), 'ok'),
          card('failed', fmtNumber(totals.failed), totals.failed > 0 ? 'bad' : ''),
          card('failure rate', fmtRate(totals.failure_rate), totals.failure_rate > 10 ? 'bad' : ''),
          card('avg duration', fmtMs(totals.avg_duration_ms)),
          card('p95 duration', fmtMs(totals.p95_duration_ms)),
          card('per hour', fmtNumber(totals.throughput_per_hour)),
          card('pending now', fmtNumber(live.pending), 'live'),
          card('running now', fmtNumber(live.running), 'live'),
          card('paused now', fmtNumber(live.paused), 'live'),
        ),
      );
      const byType = stats.value.by_type || [];
      const byBrand = stats.value.by_brand || [];
      const row = (name, t) => h('tr', {}, h('td', {}, name), h('td', { class: 'num' }, fmtNumber(t.total)), h('td', { class: 'num' }, fmtNumber(t.failed)), h('td', { class: 'num' }, fmtRate(t.failure_rate)), h('td', { class: 'num' }, fmtMs(t.p95_duration_ms)));
      const heads = ['', 'jobs', 'failed', 'failure rate', 'p95'];
      breakdown.append(
        panel('By task type', table(heads.map((x, i) => (i ? x : 'type')), byType.map((t) => row(t.task_type, t)))),
        panel('By brand', table(heads.map((x, i) => (i ? x : 'brand')), byBrand.map((t) => row(t.brand_name || `#${t.brand_id}`, t)))),
      );
    } else {
      clear(statsBox, notice(`Statistics unavailable: ${stats.reason.message}`, 'error'));
    }

    if (trends.status === 'fulfilled') clear(chartBox, h('h2', {}, `Jobs per ${trends.value.bucket || bucket}`), trendsChart(trends.value.series || []));
    else clear(chartBox, h('h2', {}, 'Jobs over time'), notice(`Trends unavailable: ${trends.reason.message}`, 'error'));

    if (alerts.status === 'fulfilled') {
      const rows = alerts.value.results || [];
      clear(
        alertsBox,
        h('h2', {}, 'Active alerts'),
        rows.length === 0
          ? h('p', { class: 'ok-text' }, 'No alert is firing.')
          : h(
              'ul',
              { class: 'alerts' },
              rows.map((a) =>
                h(
                  'li',
                  { class: `alert state-${String(a.state).replace(/[^a-z_]/g, '')}` },
                  h('strong', {}, a.name),
                  ` · ${a.metric_field} = ${fmtNumber(a.value)} (threshold ${fmtNumber(a.threshold)})`,
                  a.brand_id === null ? ' · platform-wide' : ` · brand #${a.brand_id}`,
                  h('div', { class: 'muted' }, `last fired ${fmtTime(a.last_fired_at)}`),
                ),
              ),
            ),
      );
    } else {
      clear(alertsBox, h('h2', {}, 'Active alerts'), notice(`Alerts unavailable: ${alerts.reason.message}`, 'error'));
    }
  }

  /** Stacked bars (completed, failed, other) per bucket, drawn as inline SVG; each bar has a tooltip. */
  function trendsChart(series) {
    if (series.length === 0) return h('p', { class: 'muted' }, 'No jobs in this period.');
    const W = 760;
    const H = 220;
    const pad = { left: 44, right: 10, top: 10, bottom: 30 };
    const plotW = W - pad.left - pad.right;
    const plotH = H - pad.top - pad.bottom;
    const max = Math.max(1, ...series.map((s) => Number(s.total) || 0));
    const nice = niceCeil(max);
    const slot = plotW / series.length;
    const barW = Math.max(1, slot * 0.7);
    const y = (v) => pad.top + plotH - (v / nice) * plotH;
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': 'Jobs per time bucket: completed, failed and other' });
    for (const tick of [0, nice / 2, nice]) {
      chart.append(
        svg('line', { x1: pad.left, x2: W - pad.right, y1: y(tick), y2: y(tick), class: 'grid' }),
        svg('text', { x: pad.left - 6, y: y(tick) + 4, class: 'axis', 'text-anchor': 'end' }, fmtNumber(tick)),
      );
    }
    const labelEvery = Math.ceil(series.length / 8);
    series.forEach((s, i) => {
      const x = pad.left + i * slot + (slot - barW) / 2;
      const completed = Number(s.completed) || 0;
      const failed = Number(s.failed) || 0;
      const other = Math.max(0, (Number(s.total) || 0) - completed - failed);
      let base = 0;
      const group = svg('g', { class: 'bar' }, svg('title', {}, `${fmtTime(s.bucket_start)}: ${s.total} jobs, ${completed} completed, ${failed} failed, failure rate ${fmtRate(s.failure_rate)}`));
      for (const [value, cls] of [[completed, 'completed'], [failed, 'failed'], [other, 'other']]) {
        if (value <= 0) continue;
        group.append(svg('rect', { x, width: barW, y: y(base + value), height: y(base) - y(base + value), class: cls }));
        base += value;
      }
      chart.append(group);
      if (i % labelEvery === 0) {
        const d = new Date(s.bucket_start);
        const label = series.length > 1 && new Date(series[series.length - 1].bucket_start) - new Date(series[0].bucket_start) > 86_400_000 * 2
          ? `${d.getMonth() + 1}/${d.getDate()}`
          : `${String(d.getHours()).padStart(2, '0')}:00`;
        chart.append(svg('text', { x: x + barW / 2, y: H - 10, class: 'axis', 'text-anchor': 'middle' }, label));
      }
    });
    const legend = h('div', { class: 'legend' }, ['completed', 'failed', 'other'].map((c) => h('span', { class: `key ${c}` }, c)));
    return h('div', {}, chart, legend);
  }

  function niceCeil(v) {
    const exp = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 5, 10]) if (m * exp >= v) return m * exp;
    return 10 * exp;
  }

  // ---------------------------------------------------------------- jobs

  function filterForm(route, viewName, fields) {
    const form = h('form', { class: 'filters', id: `${viewName}-filters` });
    for (const f of fields) {
      const current = route.params.get(f.name) || '';
      let input;
      if (f.options) {
        input = h('select', { name: f.name, id: `f-${viewName}-${f.name}` }, h('option', { value: '' }, f.any || 'any'), f.options.map((o) => h('option', { value: o, selected: o === current }, o)));
      } else {
        input = h('input', { name: f.name, id: `f-${viewName}-${f.name}`, value: current, placeholder: f.placeholder || '', type: f.type || 'text' });
      }
      form.append(h('label', { class: 'field' }, h('span', {}, f.label), input));
    }
    form.append(h('button', { type: 'submit', class: 'primary' }, 'Apply'), h('a', { href: `#/${viewName}`, class: 'button' }, 'Reset'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const q = new URLSearchParams();
      for (const [k, v] of new FormData(form).entries()) if (String(v).trim() !== '') q.set(k, String(v).trim());
      location.hash = `#/${viewName}${q.toString() ? `?${q}` : ''}`;
    });
    return form;
  }

  function pager(viewName, page) {
    return h(
      'div',
      { class: 'pager' },
      page.previous ? h('a', { href: pageHash(viewName, page.previous), class: 'button', rel: 'prev' }, '← Previous') : h('span', { class: 'button disabled' }, '← Previous'),
      page.count !== undefined && page.count !== null ? h('span', { class: 'muted' }, `${fmtNumber(page.count)} jobs`) : null,
      page.next ? h('a', { href: pageHash(viewName, page.next), class: 'button', rel: 'next' }, 'Next →') : h('span', { class: 'button disabled' }, 'Next →'),
    );
  }

  const JOB_FILTERS = [
    { name: 'search', label: 'Search', placeholder: 'id, type, description' },
    { name: 'status', label: 'Status', options: STATUSES },
    { name: 'task_type', label: 'Type', placeholder: 'e.g. http_request' },
    { name: 'brand_id', label: 'Brand id', placeholder: 'e.g. 1,2' },
    { name: 'user', label: 'User', placeholder: 'id or username' },
    { name: 'ordering', label: 'Order', any: 'newest first', options: ['created_at', '-updated_at', 'updated_at', '-duration', 'duration'] },
  ];

  async function renderJobs(route, root) {
    root.append(h('div', { class: 'toolbar' }, h('h1', {}, 'Jobs')), filterForm(route, 'jobs', JOB_FILTERS));
    const q = new URLSearchParams(route.params);
    q.set('include_total', 'true');
    const page = await api('GET', `/admin/jobs?${q}`);
    root.append(
      table(
        ['job', 'type', 'status', 'brand', 'user', 'created', 'duration', 'retries', 'progress', 'Temporal'],
        page.results.map((job) =>
          h(
            'tr',
            { 'data-task-id': job.task_id },
            h('td', {}, jobLink(job), job.description ? h('div', { class: 'muted small' }, job.description) : null),
            h('td', {}, job.task_type, job.kind && job.kind !== 'task' ? h('div', { class: 'muted small' }, job.kind) : null),
            h('td', {}, badge(job.status)),
            h('td', {}, job.brand ? job.brand.name : '—'),
            h('td', {}, job.user ? job.user.username : '—'),
            h('td', { class: 'nowrap' }, fmtTime(job.created_at)),
            h('td', { class: 'num' }, fmtSeconds(job.duration_seconds)),
            h('td', { class: 'num' }, `${job.retry_count}/${job.max_retries}`),
            h('td', { class: 'num' }, `${Math.round(job.progress_percentage || 0)} %`),
            h('td', {}, externalLink(job.temporal_url, 'Web UI ↗')),
          ),
        ),
        'No job matches these filters.',
      ),
      pager('jobs', page),
    );
  }

  async function renderJob(route, root) {
    const job = await api('GET', `/admin/jobs/${encodeURIComponent(route.arg)}`);
    const actions = h('div', { class: 'actions' }, jobActions(job, () => render()));
    root.append(
      h('div', { class: 'toolbar' }, h('h1', {}, 'Job ', h('span', { class: 'mono' }, job.task_id)), badge(job.status)),
      actions,
      panel(
        null,
        h(
          'dl',
          { class: 'facts' },
          fact('type', job.task_type),
          fact('kind', job.kind),
          fact('status', h('span', { id: 'job-status' }, job.status)),
          fact('priority', job.priority),
          fact('brand', job.brand ? `${job.brand.name} (#${job.brand.id})` : '—'),
          fact('created by', job.user ? job.user.username : '—'),
          fact('created', fmtTime(job.created_at)),
          fact('started', fmtTime(job.started_at)),
          fact('finished', fmtTime(job.completed_at)),
          fact('duration', fmtSeconds(job.duration_seconds)),
          fact('retries', `${job.retry_count} of ${job.max_retries}`),
          fact('progress', `${Math.round(job.progress_percentage || 0)} %`),
          fact('schedule', job.schedule_id || '—'),
          fact('Temporal', externalLink(job.temporal_url, `${job.task_id} ↗`) || '—'),
        ),
        job.description ? h('p', {}, job.description) : null,
      ),
      job.error || job.error_message ? panel('Error', errorBlock(job)) : null,
      panel('Input', json(job.context_data)),
      job.history ? panel('Execution history', historyBlock(job.history)) : null,
      job.audit && job.audit.length ? panel('Audit', auditTable(job.audit)) : null,
    );
    // A job that is still moving is re-read until it settles, so a retry can be watched to completion.
    if (!TERMINAL.has(job.status)) every(2000, () => void refreshJob(route.arg, job.status));
  }

  async function refreshJob(id, shownStatus) {
    try {
      const fresh = await api('GET', `/admin/jobs/${encodeURIComponent(id)}`);
      if (fresh.status !== shownStatus || TERMINAL.has(fresh.status)) await render();
    } catch {
      // transient: the next tick tries again
    }
  }

  function fact(label, value) {
    return [h('dt', {}, label), h('dd', {}, value)];
  }

  function historyBlock(history) {
    return h(
      'div',
      {},
      h('p', { class: 'muted' }, `run ${history.run_id || '—'} · ${history.status || ''} · ${history.event_count ?? 0} events · ${fmtTime(history.started_at)} → ${fmtTime(history.closed_at)}`),
      (history.activities || []).length
        ? table(
            ['activity', 'attempts', 'last failure'],
            history.activities.map((a) => h('tr', {}, h('td', {}, a.activity_type), h('td', { class: 'num' }, fmtNumber(a.attempts)), h('td', {}, a.last_failure ? (a.last_failure.message || JSON.stringify(a.last_failure)) : '—'))),
          )
        : null,
      (history.events || []).length
        ? collapsible(`${history.events.length} events`, table(['#', 'event', 'time'], history.events.map((e) => h('tr', {}, h('td', { class: 'num' }, e.event_id), h('td', {}, e.event_type), h('td', { class: 'nowrap' }, fmtTime(e.time))))))
        : null,
    );
  }

  function errorBlock(job) {
    const error = job.error || { message: job.error_message };
    return h(
      'div',
      { class: 'error-block' },
      h('p', { class: 'error-message' }, error.type ? h('span', { class: 'badge status-failed' }, error.type) : null, ' ', error.message || job.error_message || 'Unknown error'),
      error.stack_trace ? collapsible('Stack trace', h('pre', { class: 'code stack' }, error.stack_trace)) : null,
      (error.causes || []).map((c, i) =>
        collapsible(
          `Cause ${i + 1}: ${c.type || 'error'}${c.activity_type ? ` in activity ${c.activity_type}` : ''} — ${c.message || ''}`,
          c.stack_trace ? h('pre', { class: 'code stack' }, c.stack_trace) : h('p', { class: 'muted' }, 'No stack trace.'),
        ),
      ),
    );
  }

  // ---------------------------------------------------------------- retry and delete

  function jobActions(job, after) {
    const readOnly = !me || !me.can_write;
    const title = readOnly ? 'Your role is read-only' : null;
    const canRetry = job.status === 'failed' || job.status === 'cancelled';
    return [
      h('button', { type: 'button', class: 'primary retry', disabled: readOnly || !canRetry, title, onclick: () => retryDialog(job, after) }, 'Retry'),
      h('button', { type: 'button', class: 'danger delete', disabled: readOnly, title, onclick: () => deleteDialog(job, after) }, 'Delete'),
    ];
  }

  function openDialog(title, body, confirmLabel, confirmClass, onConfirm, ready = () => true) {
    const error = h('p', { class: 'notice error', role: 'alert', hidden: true });
    const confirm = h('button', { type: 'submit', class: confirmClass, id: 'dialog-confirm', disabled: !ready() }, confirmLabel);
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', {}, title),
      body,
      error,
      h('div', { class: 'dialog-buttons' }, h('button', { type: 'button', id: 'dialog-cancel', onclick: () => dialog.close() }, 'Cancel'), confirm),
    );
    form.addEventListener('input', () => {
      confirm.disabled = !ready();
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!ready()) return;
      confirm.disabled = true;
      try {
        await onConfirm();
        dialog.close();
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
        confirm.disabled = false;
      }
    });
    clear(dialog, form);
    dialog.showModal();
  }

  function flash(message, kind = 'ok') {
    const el = notice(message, kind);
    el.id = 'flash';
    view.prepend(el);
  }

  function retryDialog(job, after) {
    const reason = h('input', { name: 'reason', id: 'retry-reason', maxlength: 500, placeholder: 'optional, kept in the audit log' });
    openDialog(
      'Retry this job?',
      [
        h('p', {}, 'Start a new run of ', h('strong', { class: 'mono' }, job.task_id), ` (${job.task_type}) with the same input.`),
        h('p', { class: 'muted' }, `Retries so far: ${job.retry_count} of ${job.max_retries}.`),
        h('label', { class: 'field' }, h('span', {}, 'Reason'), reason),
      ],
      'Retry',
      'primary',
      async () => {
        const res = await api('POST', `/admin/jobs/${encodeURIComponent(job.task_id)}/retry`, reason.value.trim() ? { reason: reason.value.trim() } : {});
        await after();
        flash(`Retry started for ${res.task_id || job.task_id}: now ${res.new_status || 'pending'} (retry ${res.retry_count} of ${res.max_retries}).`);
      },
    );
  }

  function deleteDialog(job, after) {
    const confirmInput = h('input', { name: 'confirm', id: 'delete-confirm', autocomplete: 'off', spellcheck: 'false' });
    const running = !TERMINAL.has(job.status);
    const force = h('input', { type: 'checkbox', name: 'force', id: 'delete-force' });
    openDialog(
      'Delete this job?',
      [
        h('p', {}, 'This removes ', h('strong', { class: 'mono' }, job.task_id), ' from the job list. It cannot be undone.'),
        running ? h('p', { class: 'notice warn' }, `The job is ${job.status}: tick "terminate" to stop its workflow first.`) : null,
        running ? h('label', { class: 'check' }, force, ' terminate the running workflow (force)') : null,
        h('label', { class: 'field' }, h('span', {}, 'Type the task id to confirm'), confirmInput),
      ],
      'Delete',
      'danger',
      async () => {
        const params = { confirm: confirmInput.value.trim(), force: force.checked ? 'true' : undefined };
        // The confirmation goes in the query: DELETE bodies are not read by every proxy or server.
        await api('DELETE', `/admin/jobs/${encodeURIComponent(job.task_id)}${query(params)}`);
        if (location.hash.startsWith('#/jobs/')) location.hash = '#/jobs';
        else await after();
        flash(`Deleted ${job.task_id}.`);
      },
      () => confirmInput.value.trim() === job.task_id || confirmInput.value.trim() === String(job.id),
    );
  }

  // ---------------------------------------------------------------- failed jobs

  async function renderFailed(route, root) {
    root.append(
      h('div', { class: 'toolbar' }, h('h1', {}, 'Failed jobs')),
      filterForm(route, 'failed', [
        { name: 'search', label: 'Search', placeholder: 'id, type, description' },
        { name: 'error', label: 'Error text', placeholder: 'e.g. timeout' },
        { name: 'task_type', label: 'Type' },
        { name: 'brand_id', label: 'Brand id' },
      ]),
    );
    const page = await api('GET', `/admin/jobs/failed?${route.params}`);
    if (page.results.length === 0) {
      root.append(h('p', { class: 'muted', id: 'no-failed' }, 'No failed job matches. 🎉'));
      return;
    }
    const list = h('div', { class: 'failed-list' });
    for (const job of page.results) {
      list.append(
        h(
          'article',
          { class: 'failed-job panel', 'data-task-id': job.task_id },
          h(
            'header',
            {},
            jobLink(job),
            h('span', { class: 'muted' }, ` · ${job.task_type} · ${job.brand ? job.brand.name : ''} · failed ${fmtTime(job.completed_at || job.updated_at)}`),
            h('span', { class: 'muted' }, ` · attempts ${job.attempts ?? '—'} · retries ${job.retry_count}/${job.max_retries}`),
            h('span', { class: 'spacer' }),
            externalLink(job.temporal_url, 'Web UI ↗'),
            jobActions(job, () => render()),
          ),
          errorBlock(job),
          job.last_input !== undefined ? collapsible('Last input', json(job.last_input)) : null,
        ),
      );
    }
    root.append(list, pager('failed', page));
  }

  // ---------------------------------------------------------------- bulk actions

  const BULK_ACTIONS = ['retry', 'cancel', 'delete', 'reprioritize'];

  async function renderBulk(route, root) {
    const readOnly = !me.can_write;
    root.append(h('div', { class: 'toolbar' }, h('h1', {}, 'Bulk actions')));
    if (readOnly) root.append(notice('Your role is read-only: bulk actions are for admins.', 'warn'));
    const action = h('select', { name: 'action', id: 'bulk-action' }, BULK_ACTIONS.map((a) => h('option', { value: a }, a)));
    const priority = h('select', { name: 'new_priority', id: 'bulk-priority' }, PRIORITIES.map((p) => h('option', { value: p }, p)));
    const force = h('input', { type: 'checkbox', name: 'force', id: 'bulk-force' });
    const reason = h('input', { name: 'reason', id: 'bulk-reason', maxlength: 500, placeholder: 'kept in the audit log' });
    const fields = {
      status: h('select', { name: 'status', id: 'bulk-status' }, h('option', { value: '' }, 'any'), STATUSES.map((s) => h('option', { value: s }, s))),
      task_type: h('input', { name: 'task_type', id: 'bulk-task-type', placeholder: 'e.g. http_request' }),
      brand_id: h('input', { name: 'brand_id', id: 'bulk-brand-id', placeholder: 'e.g. 1,2' }),
      search: h('input', { name: 'search', id: 'bulk-search' }),
      error: h('input', { name: 'error', id: 'bulk-error', placeholder: 'text in the error message' }),
      created_after: h('input', { name: 'created_after', id: 'bulk-created-after', type: 'datetime-local' }),
      created_before: h('input', { name: 'created_before', id: 'bulk-created-before', type: 'datetime-local' }),
    };
    const result = h('div', { id: 'bulk-result' });
    const dryRun = h('button', { type: 'submit', class: 'primary', disabled: readOnly }, 'Dry run');
    const form = h(
      'form',
      { class: 'filters bulk', id: 'bulk-form' },
      h('label', { class: 'field' }, h('span', {}, 'Action'), action),
      h('label', { class: 'field' }, h('span', {}, 'New priority'), priority),
      h('label', { class: 'check' }, force, ' delete running jobs too (terminate)'),
      Object.entries(fields).map(([name, input]) => h('label', { class: 'field' }, h('span', {}, name.replace('_', ' ')), input)),
      h('label', { class: 'field' }, h('span', {}, 'reason'), reason),
      dryRun,
    );
    const syncPriority = () => {
      priority.disabled = action.value !== 'reprioritize';
      force.disabled = action.value !== 'delete';
    };
    action.addEventListener('change', syncPriority);
    syncPriority();

    const request = () => {
      const filter = {};
      const list = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);
      if (fields.status.value) filter.status = [fields.status.value];
      if (fields.task_type.value.trim()) filter.task_type = list(fields.task_type.value);
      if (fields.brand_id.value.trim()) filter.brand_id = list(fields.brand_id.value).map(Number);
      if (fields.search.value.trim()) filter.search = fields.search.value.trim();
      if (fields.error.value.trim()) filter.error = fields.error.value.trim();
      if (fields.created_after.value) filter.created_after = new Date(fields.created_after.value).toISOString();
      if (fields.created_before.value) filter.created_before = new Date(fields.created_before.value).toISOString();
      const body = { action: action.value, filter };
      if (action.value === 'reprioritize') body.new_priority = priority.value;
      if (action.value === 'delete' && force.checked) body.force = true;
      if (reason.value.trim()) body.reason = reason.value.trim();
      return body;
    };

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      dryRun.disabled = true;
      const body = request();
      clear(result, h('p', { class: 'muted' }, 'Counting…'));
      try {
        const dry = await api('POST', '/admin/jobs/bulk/dry-run', body);
        showDryRun(result, body, dry);
      } catch (err) {
        clear(result, notice(err.message, 'error'));
      } finally {
        dryRun.disabled = readOnly;
      }
    });

    const recent = panel('Recent bulk actions', h('p', { class: 'muted' }, 'Loading…'));
    root.append(panel(null, form), result, recent);
    try {
      const page = await api('GET', '/admin/jobs/bulk');
      clear(recent, h('h2', {}, 'Recent bulk actions'), bulkTable(page.results || []));
    } catch (err) {
      clear(recent, h('h2', {}, 'Recent bulk actions'), notice(err.message, 'error'));
    }
  }

  function showDryRun(result, body, dry) {
    const count = dry.count ?? 0;
    const sample = dry.sample || [];
    const execute = h('button', { type: 'button', class: 'danger', id: 'bulk-execute', disabled: count === 0 }, `Apply "${body.action}" to ${fmtNumber(count)} jobs…`);
    const progress = h('div', { id: 'bulk-progress' });
    execute.addEventListener('click', () =>
      openDialog(
        `Apply "${body.action}" to ${fmtNumber(count)} jobs?`,
        [
          h('p', {}, 'The action runs as a workflow, job by job; each change is audited.'),
          dry.expires_at ? h('p', { class: 'muted' }, `This confirmation is valid until ${fmtTime(dry.expires_at)}.`) : null,
        ],
        'Apply',
        'danger',
        async () => {
          const started = await api('POST', '/admin/jobs/bulk', { ...body, confirmation_token: dry.confirmation_token });
          execute.disabled = true;
          watchBulk(progress, started.bulk_id);
        },
      ),
    );
    clear(
      result,
      panel(
        'Dry run',
        h('p', { id: 'bulk-count' }, h('strong', {}, fmtNumber(count)), ` job${count === 1 ? '' : 's'} match; ${sample.length ? 'a sample:' : 'nothing to do.'}`),
        sample.length ? table(['job', 'type', 'status', 'brand'], sample.map((j) => h('tr', {}, h('td', {}, jobLink(j)), h('td', {}, j.task_type), h('td', {}, badge(j.status)), h('td', {}, j.brand ? j.brand.name : `#${j.brand_id}`)))) : null,
        execute,
        progress,
      ),
    );
  }

  function watchBulk(box, bulkId) {
    const draw = (b) => {
      const total = Number(b.total || 0);
      const done = Number(b.processed || 0);
      const pct = Number(b.percentage ?? (total > 0 ? (100 * done) / total : 0));
      clear(
        box,
        h('p', {}, `Bulk action ${bulkId}: `, badge(b.status), ` ${fmtNumber(done)} of ${fmtNumber(total)} · ${fmtNumber(b.succeeded)} done · ${fmtNumber(b.skipped)} skipped · ${fmtNumber(b.failed)} failed`),
        h('progress', { max: 100, value: pct }),
        externalLink(b.temporal_url, 'workflow in the Web UI ↗'),
        b.last_error ? notice(b.last_error, 'error') : null,
        (b.errors || []).length
          ? collapsible(
              `${b.errors.length} skipped or failed jobs`,
              table(['job', 'outcome', 'reason'], b.errors.map((e) => h('tr', {}, h('td', {}, jobLink(e)), h('td', {}, e.outcome), h('td', {}, e.reason || e.error_code || '')))),
            )
          : null,
      );
      return b.status !== 'running';
    };
    const tick = async () => {
      try {
        if (draw(await api('GET', `/admin/jobs/bulk/${encodeURIComponent(bulkId)}`))) for (const t of timers) clearInterval(t);
      } catch (err) {
        box.append(notice(err.message, 'error'));
      }
    };
    void tick();
    every(1000, () => void tick());
  }

  function bulkTable(rows) {
    return table(
      ['id', 'action', 'status', 'progress', 'by', 'created'],
      rows.map((b) =>
        h(
          'tr',
          {},
          h('td', { class: 'mono' }, externalLink(b.temporal_url, b.bulk_id) || b.bulk_id),
          h('td', {}, b.action),
          h('td', {}, badge(b.status)),
          h('td', { class: 'num' }, `${fmtNumber(b.processed ?? 0)} / ${fmtNumber(b.total ?? 0)}`),
          h('td', {}, b.created_by ? b.created_by.username : '—'),
          h('td', { class: 'nowrap' }, fmtTime(b.created_at)),
        ),
      ),
      'No bulk action yet.',
    );
  }

  // ---------------------------------------------------------------- audit

  async function renderAudit(route, root) {
    const verifyBox = h('div', { id: 'audit-verify' });
    const verify = h('button', { type: 'button', id: 'verify-chain' }, 'Verify chain');
    verify.addEventListener('click', async () => {
      verify.disabled = true;
      clear(verifyBox, h('p', { class: 'muted' }, 'Verifying…'));
      try {
        const r = await api('GET', '/admin/audit/verify');
        clear(
          verifyBox,
          r.ok
            ? notice(`Chain intact: ${fmtNumber(r.checked)} rows checked.`, 'ok')
            : notice(`Chain broken at row ${r.first_broken ? `${r.first_broken.id} (${r.first_broken.reason})` : '?'}; ${fmtNumber(r.checked)} rows checked.`, 'error'),
        );
      } catch (err) {
        clear(verifyBox, notice(err.message, 'error'));
      } finally {
        verify.disabled = false;
      }
    });
    root.append(
      h('div', { class: 'toolbar' }, h('h1', {}, 'Audit log'), verify),
      verifyBox,
      filterForm(route, 'audit', [
        { name: 'actor', label: 'Actor', placeholder: 'id or username' },
        { name: 'action', label: 'Action', placeholder: 'e.g. admin.job.retry' },
        { name: 'target_type', label: 'Target type' },
        { name: 'target_id', label: 'Target id' },
        { name: 'since', label: 'Since', placeholder: 'ISO time' },
        { name: 'until', label: 'Until', placeholder: 'ISO time' },
      ]),
    );
    const page = await api('GET', `/admin/audit?${route.params}`);
    root.append(auditTable(page.results || []), pager('audit', page));
  }

  function auditTable(rows) {
    return table(
      ['time', 'actor', 'action', 'target', 'brand', 'ip', 'details'],
      rows.map((r) =>
        h(
          'tr',
          { class: 'audit-row', 'data-action': r.action },
          h('td', { class: 'nowrap' }, fmtTime(r.occurred_at)),
          h('td', {}, r.actor && r.actor.username ? r.actor.username : r.actor_id ?? '—', r.actor && r.actor.role ? h('div', { class: 'muted small' }, r.actor.role) : null),
          h('td', { class: 'mono' }, r.action),
          h('td', {}, `${r.target_type}:`, h('span', { class: 'mono' }, r.target_id)),
          h('td', {}, r.brand_id ?? '—'),
          h('td', { class: 'mono' }, r.ip || '—'),
          h('td', {}, collapsible('show', json({ before: r.before, after: r.after, details: r.details, request_id: r.request_id, hash: r.hash }))),
        ),
      ),
      'No audit row matches.',
    );
  }

  void render();
})();
