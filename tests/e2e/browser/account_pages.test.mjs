// The pages a person opens from a mail, in Debian's Chromium through the e2e
// stack's nginx (prod headers): they ask for a password reset, open the link
// from the mail (read from the SMTP sink's Maildir), type a new password, see
// it done and log in with it; a link cut short asks for the mail's code; a
// verification link's button verifies.
//   MAILDIR=<the sink's Maildir> node account_pages.test.mjs BASE_URL ARTIFACT_DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, startCases } from './harness.mjs';

const { baseUrl, run, finish } = await startCases('account_pages.test.mjs');
const maildir = process.env.MAILDIR;
if (!maildir) {
  console.error('MAILDIR (the SMTP sink\'s Maildir) is not set');
  process.exit(64);
}

function mails() {
  const out = [];
  for (const sub of ['new', 'cur']) {
    let names = [];
    try { names = readdirSync(join(maildir, sub)); } catch { continue; }
    for (const name of names) out.push(readFileSync(join(maildir, sub, name), 'utf8'));
  }
  return out;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The links to /<page> in the mails to `email` (each mail's first, the text
// part's); waits up to 20 s until there are at least `count`.
async function mailedLinks(email, page, count = 1) {
  const link = new RegExp(`${escapeRegExp(baseUrl)}/${page}\\?token=[A-Za-z0-9_-]+`);
  const deadline = Date.now() + 20000;
  for (;;) {
    const found = [];
    for (const mail of mails()) {
      const head = mail.split(/\r?\n\r?\n/, 1)[0];
      const to = /^To: (.*?)\r?$/m.exec(head);
      const match = link.exec(mail);
      if (to && to[1] === email && match) found.push(match[0]);
    }
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`no mail to ${email} with a link to /${page} within 20 s`);
    await sleep(100);
  }
}

async function api(page, path, data) {
  return page.request.post(baseUrl + path, { data, failOnStatusCode: false });
}

async function submit(page, path) {
  await Promise.all([page.waitForURL(baseUrl + path), page.click('button[type=submit]')]);
}

const unique = Date.now().toString(36);

await run('a person resets their password from the mail and logs in with it', async (page, { failures, consoleErrors }) => {
  const email = `reset-${unique}@example.com`;
  check((await api(page, '/auth/register', { username: 'reset', email, password: 'the old password' })).status() === 201, 'register failed');
  check((await api(page, '/auth/password/forgot', { email })).status() === 202, 'forgot did not answer 202');
  const [link] = await mailedLinks(email, 'reset-password');

  await page.goto(link);
  check(await page.title() === 'Reset your password', `title is ${await page.title()}`);
  check(await page.locator('label[for=new_password]').count() === 1, 'no label for the new password');
  check(await page.getAttribute('#new_password', 'type') === 'password', 'the new password is not a password field');
  await page.fill('#new_password', 'a new passphrase');
  await submit(page, '/reset-password');
  check(await page.isVisible('#form-done'), 'no done message');
  check((await page.locator('#form-done').innerText()).includes('Your password has been changed.'), 'wrong done message');
  check(await page.locator('h1').innerText() === 'Password changed', 'wrong heading');

  // The page's link to the app: the URL with the token goes nowhere as a Referer.
  const [request] = await Promise.all([page.waitForRequest(baseUrl + '/'), page.click('text=Go to the app')]);
  check(!(await request.allHeaders()).referer, 'the link sent a Referer');
  await page.waitForLoadState('load');
  check(failures.length === 0, `failed requests: ${failures.join(', ')}`);
  check(consoleErrors.length === 0, `console errors (a CSP refusal?): ${consoleErrors.join(', ')}`);

  const login = await api(page, '/auth/login', { email, password: 'a new passphrase' });
  check(login.status() === 200, `login with the new password: ${login.status()}`);
  check(typeof (await login.json()).auth_token === 'string', 'no auth_token');
  check((await api(page, '/auth/login', { email, password: 'the old password' })).status() === 401, 'the old password still works');
});

await run('a password that breaks the rules shows the form again, then a good one works', async (page) => {
  const email = `rules-${unique}@example.com`;
  check((await api(page, '/auth/register', { username: 'rules', email, password: 'the old password' })).status() === 201, 'register failed');
  check((await api(page, '/auth/password/forgot', { email })).status() === 202, 'forgot did not answer 202');
  const [link] = await mailedLinks(email, 'reset-password');

  await page.goto(link);
  await page.fill('#new_password', '          ');  // long enough for the browser, only spaces
  await submit(page, '/reset-password');
  check(await page.isVisible('#form-error'), 'no error message');
  check((await page.locator('#form-error').innerText()).includes('8 to 128 characters'), 'wrong error message');
  await page.fill('#new_password', 'a good one this time');
  await submit(page, '/reset-password');
  check(await page.isVisible('#form-done'), 'the second try is not done');
  check((await api(page, '/auth/login', { email, password: 'a good one this time' })).status() === 200, 'login with the new password failed');
});

await run('a used link says so', async (page) => {
  const email = `reset-${unique}@example.com`;  // the first case's: its link is used
  const [link] = await mailedLinks(email, 'reset-password');
  await page.goto(link);
  await page.fill('#new_password', 'yet another one');
  await submit(page, '/reset-password');
  check(await page.isVisible('text=Invalid or expired token.'), 'no "Invalid or expired token."');
  check(await page.locator('form').count() === 0, 'a form for a used token');
});

await run('a link that lost its token asks for the mail\'s code, which works', async (page) => {
  const email = `paste-${unique}@example.com`;
  check((await api(page, '/auth/register', { username: 'paste', email, password: 'the old password' })).status() === 201, 'register failed');
  check((await api(page, '/auth/password/forgot', { email })).status() === 202, 'forgot did not answer 202');
  const [link] = await mailedLinks(email, 'reset-password');
  const code = new URL(link).searchParams.get('token');

  await page.goto(baseUrl + '/reset-password');  // the link as a mail client cut it
  check((await page.locator('#form-error').innerText()).includes('This link has no token.'), 'no message about the token');
  await page.fill('#token', ` ${code} `);  // pasted, with the spaces a paste brings
  await page.fill('#new_password', 'pasted and working');
  await submit(page, '/reset-password');
  check(await page.isVisible('#form-done'), 'the pasted code did not work');
  check((await api(page, '/auth/login', { email, password: 'pasted and working' })).status() === 200, 'login with the new password failed');
});

await run('the verification link\'s button verifies the email', async (page, { consoleErrors }) => {
  const email = `verify-${unique}@example.com`;
  const registered = await api(page, '/auth/register', { username: 'verify', email, password: 'a password here' });
  check(registered.status() === 201, 'register failed');
  const token = (await registered.json()).auth_token;
  const verified = async () => (await (await page.request.get(baseUrl + '/auth/status', { headers: { Authorization: `Bearer ${token}` } })).json()).data.email_verified;
  const [link] = await mailedLinks(email, 'verify-email');

  await page.goto(link);
  check(await page.title() === 'Verify your email', `title is ${await page.title()}`);
  check(await verified() === false, 'opening the link verified the email');
  await submit(page, '/verify-email');
  check((await page.locator('#form-done').innerText()).includes('Your email address is verified.'), 'no done message');
  check(await verified() === true, 'the button did not verify the email');
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(', ')}`);
});

await finish();
