// The API's reference (/docs) and Swagger UI (/docs/try) as a person uses
// them, in Debian's Chromium, through the e2e stack's nginx with the prod
// headers (its Content-Security-Policy included; harness.mjs runs the cases).
//   node api_docs.test.mjs BASE_URL ARTIFACT_DIR
import { check, startCases } from './harness.mjs';

const { baseUrl, run, finish } = await startCases('api_docs.test.mjs');
const origin = new URL(baseUrl).origin;
const unique = Date.now().toString(36);

// Every request the page makes, to check they all stay on this origin.
function watchOrigins(page) {
  const origins = new Set();
  page.on('request', (request) => origins.add(new URL(request.url()).origin));
  return () => check([...origins].every((o) => o === origin), `other origins: ${[...origins].join(', ')}`);
}

function checkClean({ failures, consoleErrors }) {
  check(failures.length === 0, `failed requests: ${failures.join(', ')}`);
  check(consoleErrors.length === 0, `console errors (CSP?): ${consoleErrors.join(' | ')}`);
}

await run('the API docs page loads whole, from this origin only', async (page, problems) => {
  const sameOrigin = watchOrigins(page);
  await page.goto(baseUrl + '/docs');
  await page.waitForLoadState('load');
  check((await page.locator('h1').innerText()).includes('users-service'), 'no users-service heading');
  check(await page.getByText('/auth/login').first().isVisible(), '/auth/login is not listed');
  checkClean(problems);
  sameOrigin();
});

await run('the API docs page renders the descriptions\' Markdown', async (page) => {
  await page.goto(baseUrl + '/docs');
  const text = await page.locator('body').innerText();
  const backticks = text.split('\n').filter((line) => line.includes('`'));
  check(backticks.length === 0, `literal backticks in the page's text: ${backticks.slice(0, 3).join(' | ')}`);
  // The inline code of the descriptions became <code>.
  const codes = await page.locator('.api-description code').allInnerTexts();
  check(codes.includes('{"status":"fail","message":...}'), `error shape not shown as code: ${codes.join(' | ')}`);
  check(await page.locator('#listUsers .description code', { hasText: 'limit' }).count() > 0,
        'listUsers description has no <code>limit</code>');
});

await run('the API docs page fits a 1100-pixel window', async (page) => {
  await page.goto(baseUrl + '/docs');
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  check(scrollWidth <= clientWidth, `the page scrolls sideways: ${scrollWidth} px wide in a ${clientWidth} px window`);
}, { viewport: { width: 1100, height: 800 } });

// --- Swagger UI --------------------------------------------------------------

// A new account's token, from POST /auth/register through nginx.
async function register(page, name) {
  const response = await page.request.post(baseUrl + '/auth/register', {
    data: { username: name, email: `${name}@example.com`, password: 'a long password' },
  });
  check(response.status() === 201, `register answered ${response.status()}`);
  return (await response.json()).auth_token;
}

async function openTryPage(page) {
  await page.goto(baseUrl + '/docs/try');
  await page.locator('.opblock').first().waitFor({ timeout: 30000 });
}

// Authorize (the padlock button) with a bearer token, as a person does.
async function authorize(page, token) {
  await page.locator('.scheme-container button.authorize').click();
  const dialog = page.locator('.modal-ux');
  await dialog.locator('input[type=text], input[type=password]').first().fill(token);
  await dialog.locator('button.authorize').click();
  await dialog.locator('button.btn-done').click();
}

// The operation's block, opened and in "Try it out" mode.
async function tryOut(page, method, path) {
  const block = page.locator(`.opblock-${method.toLowerCase()}`, {
    has: page.locator(`.opblock-summary-path[data-path="${path}"]`),
  });
  check(await block.count() === 1, `${method} ${path} is not in the UI (${await block.count()} blocks)`);
  await block.locator('.opblock-summary-control').click();
  await block.locator('button.try-out__btn').click();
  return block;
}

// Execute and return the live response's status and body.
async function execute(page, block) {
  await block.locator('button.execute').click();
  const status = block.locator('.live-responses-table tbody .response-col_status').first();
  await status.waitFor({ timeout: 15000 });
  const body = await block.locator('.live-responses-table .response-col_description pre').first().innerText();
  return { status: (await status.innerText()).trim(), body };
}

await run('Swagger UI loads under the prod CSP, from this origin only', async (page, problems) => {
  const sameOrigin = watchOrigins(page);
  const response = await page.goto(baseUrl + '/docs/try');
  const csp = response.headers()['content-security-policy'] || '';
  check(/script-src 'self'(;|$)/.test(csp), `page CSP does not limit scripts to 'self': ${csp}`);
  await page.locator('.opblock').first().waitFor({ timeout: 30000 });
  check((await page.locator('.info .title').innerText()).includes('users-service'), 'no users-service title');
  check(await page.locator('.opblock-summary-path[data-path="/auth/status"]').count() === 1, '/auth/status not listed');
  checkClean(problems);
  sameOrigin();
});

await run('Swagger UI: Authorize, then GET /auth/status answers 200 with the user', async (page, problems) => {
  const token = await register(page, `status-${unique}`);
  await openTryPage(page);
  await authorize(page, token);
  const block = await tryOut(page, 'GET', '/auth/status');
  const { status, body } = await execute(page, block);
  check(status === '200', `GET /auth/status answered ${status}: ${body}`);
  check(JSON.parse(body).data.username === `status-${unique}`, `not the registered user: ${body}`);
  checkClean(problems);
});

await run('Swagger UI: PATCH /users/{own id} changes the username (200)', async (page, problems) => {
  const token = await register(page, `patch-${unique}`);
  await openTryPage(page);
  await authorize(page, token);
  const status = await tryOut(page, 'GET', '/auth/status');
  const me = await execute(page, status);
  check(me.status === '200', `GET /auth/status answered ${me.status}: ${me.body}`);
  const id = JSON.parse(me.body).data.id;

  const block = await tryOut(page, 'PATCH', '/users/{id}');
  await block.locator('tr[data-param-name="id"] input').fill(String(id));
  await block.locator('textarea.body-param__text').fill(JSON.stringify({ username: `renamed-${unique}` }));
  const { status: patched, body } = await execute(page, block);
  check(patched === '200', `PATCH /users/${id} answered ${patched}: ${body}`);
  const user = JSON.parse(body).data ?? JSON.parse(body);
  check(user.username === `renamed-${unique}`, `username not changed: ${body}`);
  checkClean(problems);
});

await finish();
