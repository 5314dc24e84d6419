// Paceline web UI test, driven by test/ui/ui_test.go (which starts a
// 3-node loopback cluster and passes it in the environment):
//
//   PL_UI_URL       the UI's base URL on a node that stays up (https://...)
//   PL_UI_NODE      that node's name
//   PL_UI_OPERATOR  an operator API token; PL_UI_VIEWER a viewer token
//   PL_UI_VICTIM    the node running "web", which the Go test crashes
//   PL_UI_OUT       where the screenshots go
//   PL_UI_PROMOTABLE "true" when the promotable clone db-clone runs
//   PL_CHROMIUM     the browser (Debian's chromium)
//
// Protocol with the Go test: this script prints "CRASH" when the
// overview is loaded and waits for a line on stdin ("CRASHED") before it
// watches the page change; at the end it prints "REVOKE ID" and waits for
// "REVOKED" once the operator's token is revoked. Any failure exits 1 with one line saying what.
"use strict";
const { chromium } = require("playwright-core");
const readline = require("readline");
const path = require("path");

const base = process.env.PL_UI_URL;
const victim = process.env.PL_UI_VICTIM;
const out = process.env.PL_UI_OUT;

function fail(msg) {
  console.error("FAIL: " + msg);
  process.exit(1);
}

function check(cond, msg) {
  if (!cond) fail(msg);
}

const stdin = readline.createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();

async function login(browser, token, viewport) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  const page = await ctx.newPage();
  const resp = await page.goto(base + "/ui/");
  check(page.url().endsWith("/ui/login"), "without a session /ui/ did not go to the login page: " + page.url());
  check(resp.headers()["content-security-policy"].includes("default-src 'self'"), "no CSP on the login page");
  await page.fill('input[name="token"]', token);
  await Promise.all([page.waitForURL(base + "/ui/"), page.click('button[type="submit"]')]);
  const cookies = await ctx.cookies();
  const sess = cookies.find((c) => c.name === "__Host-paceline-session");
  check(sess && sess.httpOnly && sess.secure && sess.sameSite === "Strict", "session cookie attributes: " + JSON.stringify(sess));
  return { ctx, page };
}

// webNodes reads where the overview says web runs.
async function webNodes(page) {
  return page.getAttribute('tr[data-resource="web"]', "data-nodes");
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.PL_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run"],
  });
  try {
    // The operator reads the overview (this node's copy of the state may
    // be a moment behind the one the Go test read: the page is live).
    const { page } = await login(browser, process.env.PL_UI_OPERATOR, { width: 1280, height: 900 });
    const promotable = process.env.PL_UI_PROMOTABLE === "true";
    await page.waitForFunction(([v, promo]) => {
      const row = document.querySelector('tr[data-resource="web"]');
      const clones = document.querySelector("#clones");
      return row && row.dataset.nodes === v && (!promo ||
        (clones && /Promoted: \[ n[123] \] Unpromoted: \[ n[123] n[123] \]/.test(clones.textContent.replace(/\s+/g, " "))));
    }, [victim, promotable], { timeout: 20000 }).catch(async () =>
      fail("the overview does not show web on " + victim + (promotable ? " and db-clone promoted on one node, unpromoted on two" : "") +
        ": " + (await page.textContent("#live")).replace(/\s+/g, " ").slice(0, 600)));
    check((await page.locator("#nodes tbody tr").count()) === 3, "the overview does not list 3 nodes");
    check((await page.textContent("#quorum")).trim() === "yes", "the overview does not show quorum");
    const leader = (await page.textContent("#leader")).trim();
    check(/^n[123]$/.test(leader), "leader shown as " + leader);
    check((await page.locator("[data-action=standby]").count()) > 0, "an operator sees no standby button");
    await page.screenshot({ path: path.join(out, "ui-overview.png"), fullPage: true });

    // A resource page, then back to the overview.
    await page.click('tr[data-resource="web"] a[href="/ui/resources/web"]');
    await page.waitForSelector("#ops tbody tr");
    check((await page.textContent("#rsc-role")).trim() === "Started", "the resource page does not show web Started");
    check((await page.locator("#ops tbody tr").count()) >= 1, "no operation history on the resource page");
    await page.screenshot({ path: path.join(out, "ui-resource.png"), fullPage: true });
    const phone = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 }, isMobile: true });
    await phone.addCookies(await page.context().cookies());
    const pp = await phone.newPage();
    await pp.goto(base + "/ui/");
    await pp.waitForSelector("#nodes tbody tr");
    await pp.screenshot({ path: path.join(out, "ui-overview-phone.png"), fullPage: true });
    await phone.close();

    await page.goto(base + "/ui/");
    await page.waitForSelector('tr[data-resource="web"]');
    // A mark a reload would lose.
    await page.evaluate(() => { window.__plNoReload = true; });
    console.log("CRASH");
    const ack = await lines.next();
    check(!ack.done && ack.value.trim() === "CRASHED", "the Go test did not crash the node: " + JSON.stringify(ack));
    const t0 = Date.now();
    await page.waitForFunction((v) => {
      const row = document.querySelector('tr[data-resource="web"]');
      const n = document.querySelector('tr[data-node="' + v + '"] .state');
      return row && row.dataset.nodes && row.dataset.nodes !== v && row.dataset.role === "Started" &&
        n && n.textContent.trim() !== "online";
    }, victim, { timeout: 60000, polling: 100 });
    const moved = Date.now() - t0;
    check(await page.evaluate(() => window.__plNoReload === true), "the page was reloaded");
    const now = await webNodes(page);
    const vstate = (await page.textContent('tr[data-node="' + victim + '"] .state')).trim();
    console.log("MOVED web " + victim + " -> " + now + " shown " + moved + " ms after the crash, without a reload; " + victim + " shown " + vstate);
    await page.screenshot({ path: path.join(out, "ui-overview-after-crash.png"), fullPage: true });

    // A viewer: no action buttons, and 403 when posting one anyway.
    const v = await login(browser, process.env.PL_UI_VIEWER, { width: 1280, height: 900 });
    await v.page.waitForSelector("#nodes tbody tr");
    for (const url of ["/ui/", "/ui/resources/web", "/ui/nodes/" + now]) {
      await v.page.goto(base + url);
      const n = await v.page.locator("[data-action], form[action='/ui/action']").count();
      check(n === 0, "a viewer sees " + n + " action buttons on " + url);
    }
    const status = await v.page.evaluate(async (node) => {
      const csrf = document.querySelector('input[name="csrf"]').value;
      const body = new URLSearchParams({ csrf, action: "standby", node, back: "/ui/" });
      const r = await fetch("/ui/action", { method: "POST", body, redirect: "manual" });
      return r.status;
    }, now);
    check(status === 403, "a viewer's posted standby answered " + status + ", want 403");
    console.log("VIEWER no buttons; posted standby answered " + status);

    // The operator puts the UI's own node in standby and back with the
    // buttons; the audit list names the operator's token.
    const me = process.env.PL_UI_NODE;
    const tokenID = (await page.textContent("header .who b")).trim();
    const row = 'tr[data-node="' + me + '"]';
    // clickAction posts an action form and waits for the page it returns
    // to (the form's POST answers 303 to it).
    const clickAction = async (sel) => {
      const nav = page.waitForEvent("framenavigated", { predicate: (f) => f === page.mainFrame() });
      await page.click(sel);
      await nav;
      await page.waitForLoadState("domcontentloaded");
    };
    // waitState waits until the overview shows the node in state.
    const waitState = (state) => page.waitForFunction(([sel, want]) => {
      const s = document.querySelector(sel + " .state");
      return s && s.textContent.trim() === want;
    }, [row, state], { timeout: 30000 }).catch(async () => {
      const text = (await page.textContent("#live")).replace(/\s+/g, " ").slice(0, 400);
      fail(me + " not shown " + state + " within 30 s at " + page.url() + ": " + text);
    });
    await page.goto(base + "/ui/");
    await clickAction(row + " [data-action=standby]");
    await waitState("standby");
    if ((await page.textContent("#events-title")).includes("audit log")) {
      // The audit entry is committed just after the change it records.
      const line = "PUT /v1/nodes/" + me + "/attributes by " + tokenID + " (operator): ok";
      await page.waitForFunction((l) => document.querySelector("#events").textContent.includes(l), line, { timeout: 15000 })
        .catch(async () => fail("the audit list does not show the operator's standby: " + (await page.textContent("#events"))));
    }
    await clickAction(row + " [data-action=unstandby]");
    await waitState("online");
    console.log("OPERATOR standby and unstandby of " + me + " through the buttons, audited as " + tokenID);

    // The operator's token is revoked: the open page goes to the login
    // form by itself, and the old session's cookie gets 403.
    const oldCookies = await page.context().cookies();
    const oldCSRF = await page.getAttribute('input[name="csrf"]', "value");
    console.log("REVOKE " + tokenID);
    const ack2 = await lines.next();
    check(!ack2.done && ack2.value.trim() === "REVOKED", "the Go test did not revoke the token: " + JSON.stringify(ack2));
    const t1 = Date.now();
    while (!page.url().endsWith("/ui/login")) {
      check(Date.now() - t1 < 15000, "the open page did not go to the login form within 15 s: " + page.url());
      await new Promise((r) => setTimeout(r, 20));
    }
    const gone = Date.now() - t1;
    await page.waitForLoadState("domcontentloaded");
    // The old session's cookie, replayed from another browser context.
    const replayCtx = await browser.newContext({ ignoreHTTPSErrors: true });
    await replayCtx.addCookies(oldCookies);
    const replay = await replayCtx.request.get(base + "/ui/?fragment=1", { maxRedirects: 0 });
    const replayPost = await replayCtx.request.post(base + "/ui/action", { maxRedirects: 0,
      form: { csrf: oldCSRF, action: "standby", node: me, back: "/ui/" } });
    check(replay.status() === 403 && replayPost.status() === 403,
      "the revoked session's cookie answered " + replay.status() + " (page) and " + replayPost.status() + " (action), want 403");
    await replayCtx.close();
    console.log("REVOKED the open page went to the login form " + gone + " ms after the revocation; the replayed cookie gets " +
      replay.status() + " (page) and " + replayPost.status() + " (action)");
  } finally {
    await browser.close();
    stdin.close();
  }
})().catch((e) => fail(e && e.stack ? e.stack.split("\n")[0] : String(e)));
