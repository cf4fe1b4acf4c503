// Keeps headless chromium open on a futured dashboard, on its overview and
// its futures page (each polls once a second), until SIGTERM. For
// overhead.sh; puppeteer-core comes from tests/dashboard (npm ci there).
//   node bench/dashboard/viewer.mjs http://127.0.0.1:PORT/ PROFILE_DIR
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const puppeteer =
    createRequire(here + '../../tests/dashboard/package.json')('puppeteer-core');
const [url, profile] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.FUTURED_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  userDataDir: profile,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const overview = await browser.newPage();
await overview.goto(url, {waitUntil: 'load'});
const futures = await browser.newPage();
await futures.goto(url + '#/futures', {waitUntil: 'load'});
await overview.waitForSelector('.card');
await futures.waitForSelector('table');
console.log('viewing');
process.on('SIGTERM', async () => {
  await browser.close();
  process.exit(0);
});
