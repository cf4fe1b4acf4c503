// The dashboard in a real browser: starts a real futured (loopback, free
// ports), runs a failing task, a cancelled one and one that reports
// progress, opens the page in Debian's chromium (headless, driven by
// puppeteer-core) and checks what a person sees; then, with bearer tokens,
// that a page without a token sees nothing and a principal only its own
// futures. Screenshots go to --out. Everything it starts it stops.
//
//   node dashboard_browser_test.mjs --futured PATH --futurectl PATH --out DIR
//
// Exit status: 0 passed, 1 failed, 77 skipped (no chromium; ctest's
// SKIP_RETURN_CODE).
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';

const CHROMIUM = process.env.FUTURED_CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 30000;  // the most any one wait may take

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i + 1 < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const name of ['futured', 'futurectl', 'out']) {
    if (!out[name]) throw new Error('missing --' + name);
  }
  return out;
}

const opts = args();
if (!existsSync(CHROMIUM)) {
  console.log(`SKIPPED: no chromium at ${CHROMIUM} (apt-get install chromium)`);
  process.exit(77);
}
const here = fileURLToPath(new URL('.', import.meta.url));
let puppeteer;
try {
  puppeteer = createRequire(join(here, 'package.json'))('puppeteer-core');
} catch (e) {
  console.error(`puppeteer-core is not installed: run npm ci --prefix ${here} (${e.message})`);
  process.exit(1);
}
mkdirSync(opts.out, {recursive: true});

const started = [];  // daemons to stop
const scratch = mkdtempSync(join(tmpdir(), 'futured-dashboard-'));

function check(condition, what) {
  if (!condition) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

// Starts futured, with a journal of its own, and resolves with its gRPC
// address and dashboard URL.
function startDaemon(extraFlags) {
  const stateDir = mkdtempSync(join(scratch, 'state-'));
  const child = spawn(opts.futured, [
    '--listen=127.0.0.1:0', '--http_listen=127.0.0.1:0', '--processes=1', '--threads=4',
    '--state_dir=' + stateDir, ...extraFlags], {stdio: ['ignore', 'pipe', 'inherit']});
  started.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('futured did not start')), STEP_MS);
    const found = {};
    createInterface({input: child.stdout}).on('line', line => {
      let m = line.match(/^futured listening on (\S+)/);
      if (m) found.address = m[1];
      m = line.match(/^futured dashboard on (\S+)/);
      if (m) found.url = m[1];
      if (found.address && found.url) {
        clearTimeout(timer);
        resolve(Object.assign(found, {child}));
      }
    });
    child.on('exit', code => reject(new Error('futured exited with ' + code)));
  });
}

function stopDaemon(daemon) {
  return new Promise(resolve => {
    if (daemon.exitCode !== null || daemon.signalCode !== null) return resolve();
    const timer = setTimeout(() => daemon.kill('SIGKILL'), STEP_MS);
    daemon.once('exit', () => { clearTimeout(timer); resolve(); });
    daemon.kill('SIGTERM');
  });
}

// futurectl's answer (one JSON line) to `argv`; exit status 2 says the task
// failed, which a test may expect.
function futurectl(address, argv, token) {
  const env = Object.assign({}, process.env, {FUTURED_TOKEN: token || ''});
  const run = spawnSync(opts.futurectl, ['--target', address, ...argv],
                        {env, encoding: 'utf8', timeout: STEP_MS});
  if (run.status !== 0 && run.status !== 2) throw new Error(`futurectl ${argv.join(' ')}: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

function submit(address, fn, fnArgs, extra, token) {
  return futurectl(address, ['submit', fn, JSON.stringify(fnArgs), ...(extra || [])], token).id;
}

async function shot(page, name) {
  const path = join(opts.out, name + '.png');
  await page.screenshot({path, fullPage: true});
  console.log('screenshot ' + path);
}

async function textOf(page, selector) {
  return page.$eval(selector, e => e.textContent);
}

async function plainDashboard(browser) {
  const d = await startDaemon([]);
  const failed = submit(d.address, 'fail', ['ValueError', 'bad input']);
  const cancelled = submit(d.address, 'sleep', [120]);
  const progressing = submit(d.address, 'sleep', [60], ['--pool', 'process']);
  futurectl(d.address, ['result', failed, '--timeout', '30s']);

  const page = await browser.newPage();
  await page.setViewport({width: 1200, height: 900});
  await page.goto(d.url, {waitUntil: 'load'});
  await page.waitForSelector('.card[data-pool="process"]', {timeout: STEP_MS});
  const cards = await page.$$eval('.card', cs => cs.map(c => c.textContent));
  check(cards.some(t => t.startsWith('thread (thread)')) && cards.some(t => t.startsWith('process (process)')),
        'the overview shows the thread and process pools');
  // The process worker runs the progressing task, and names its PID.
  await page.waitForFunction(id => [...document.querySelectorAll('tr.worker')].some(
      r => /process \d+/.test(r.textContent) && r.querySelector('a[href="#/future/' + id + '"]')),
      {timeout: STEP_MS}, progressing);
  check(true, 'a process worker shows its PID and the task it runs');
  await page.waitForFunction(() => [...document.querySelectorAll('tr.function')].some(
      r => r.cells[0].textContent === 'fail' && r.cells[2].textContent === '1'), {timeout: STEP_MS});
  check(true, 'the functions table counts the failed task');
  const journal = await page.$eval('p.journal', p => p.textContent);
  check(/^Journal \/.*\/futured\.db: [1-9]\d* commits, [1-9]\d* records/.test(journal),
        'the overview shows the journal and its commits: ' + journal);
  await shot(page, 'overview');

  await page.goto(d.url + '#/futures', {waitUntil: 'load'});
  await page.waitForFunction(() => document.body.textContent.includes('ValueError: bad input'),
                             {timeout: STEP_MS});
  check(true, "the futures list shows the failed task's error text");
  await page.select('#filter-state', 'failed');
  await page.waitForFunction(id => {
    const rows = [...document.querySelectorAll('tr.future')];
    return rows.length === 1 && rows[0].dataset.id === id;
  }, {timeout: STEP_MS}, failed);
  check(true, 'filtering by state=failed leaves only the failed future');
  await shot(page, 'futures-failed');

  await page.goto(d.url + '#/future/' + progressing, {waitUntil: 'load'});
  const bar = '#field-progress [role=progressbar]';
  await page.waitForSelector(bar, {timeout: STEP_MS});
  const first = Number(await page.$eval(bar, e => e.getAttribute('aria-valuenow')));
  await page.waitForFunction((sel, v) => {
    const e = document.querySelector(sel);
    return e && Number(e.getAttribute('aria-valuenow')) > v;
  }, {timeout: STEP_MS}, bar, first);
  const later = Number(await page.$eval(bar, e => e.getAttribute('aria-valuenow')));
  check(later > first, `the progress bar moves (${first}% then ${later}%)`);
  const args = await page.$eval('#field-arguments', e => e.textContent);
  check(args === '[60]', `the future page shows the call's arguments (${args})`);
  await shot(page, 'future-progress');

  await page.goto(d.url + '#/future/' + cancelled, {waitUntil: 'load'});
  await page.waitForFunction(() => document.querySelector('#field-state')?.textContent === 'running',
                             {timeout: STEP_MS});
  await page.click('#cancel');
  await page.waitForFunction(() => document.querySelector('#field-state')?.textContent === 'cancelled',
                             {timeout: STEP_MS});
  const info = futurectl(d.address, ['status', cancelled]);
  check(info.state === 'FUTURE_STATE_CANCELLED', 'cancel from the future page takes effect (the daemon says ' + info.state + ')');
  await shot(page, 'future-cancelled');
  await page.close();
  await stopDaemon(d.child);
}

async function authDashboard(browser) {
  const tokens = join(scratch, 'tokens');
  writeFileSync(tokens, 'alice alice-token-0123456789\nbob bob-token-0123456789ab\n', {mode: 0o600});
  const d = await startDaemon(['--auth_tokens_file=' + tokens]);
  const alices = submit(d.address, 'echo', [1], [], 'alice-token-0123456789');
  const bobs = submit(d.address, 'echo', [2], [], 'bob-token-0123456789ab');

  const page = await browser.newPage();
  await page.setViewport({width: 1200, height: 700});
  await page.goto(d.url + '#/futures', {waitUntil: 'load'});
  await page.waitForSelector('#login:not([hidden])', {timeout: STEP_MS});
  const anonymous = await page.evaluate(() => document.body.textContent);
  check(!anonymous.includes(alices.slice(0, 8)) && !anonymous.includes(bobs.slice(0, 8)) &&
        (await page.$$('tr.future')).length === 0,
        'without a token the page asks for one and shows no future');
  await shot(page, 'auth-no-token');

  await page.type('#token', 'alice-token-0123456789');
  await page.click('#login-form button');
  await page.waitForSelector('tr.future', {timeout: STEP_MS});
  await page.waitForFunction(() => document.querySelector('#who').textContent.includes('alice'),
                             {timeout: STEP_MS});
  const ids = await page.$$eval('tr.future', rows => rows.map(r => r.dataset.id));
  check(ids.length === 1 && ids[0] === alices, "with alice's token the page lists alice's future only");
  await shot(page, 'auth-alice');
  await page.close();
  await stopDaemon(d.child);
}

let failed = false;
let browser = null;
try {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: join(scratch, 'chromium-profile'),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await plainDashboard(browser);
  await authDashboard(browser);
  console.log('PASSED');
} catch (e) {
  failed = true;
  console.error('FAILED: ' + (e.stack || e));
} finally {
  if (browser) await browser.close().catch(() => {});
  for (const d of started) await stopDaemon(d);
  rmSync(scratch, {recursive: true, force: true});
}
process.exit(failed ? 1 : 0);
