// browser.js: the jobs page in a real (headless) Chromium, driven by playwright-core.
// Called by tests/integration/browser.sh with:
//   PW_DIR      where `npm install playwright-core` put node_modules
//   SERVER      http://127.0.0.1:PORT of jobs-server
//   PROXY       http://127.0.0.1:PORT of cutproxy.py in front of it, PROXY_PID its pid
//   PROFILE     a fresh --user-data-dir
// Prints "plan N" first, then "ok NAME" or "FAIL NAME: why" per check (tests/lib.sh's
// run_checks counts them against the plan), and exits 0 once every test has run.
"use strict";
const { chromium } = require(process.env.PW_DIR + "/node_modules/playwright-core");

const SERVER = process.env.SERVER, PROXY = process.env.PROXY;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ok = (n) => console.log(`ok ${n}`);
const fail = (n, why) => { console.log(`FAIL ${n}: ${String(why).replace(/\n/g, " ").slice(0, 300)}`); };
const check = (n, cond, why) => (cond ? ok(n) : fail(n, why));

async function text(page, sel) { return (await page.textContent(sel)) || ""; }
async function waitText(page, sel, want, ms) {
  try { await page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent === w, [sel, want], { timeout: ms }); return true; }
  catch (e) { return false; }
}
async function postJob(work_ms) {
  const r = await fetch(`${SERVER}/jobs`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ work_ms }) });
  return (await r.json()).id;
}

async function sseResume(ctx) {
  // The page's EventSource goes through the cutting proxy.
  const page = await ctx.newPage();
  await page.goto(`${PROXY}/?room=resume`);
  if (!(await waitText(page, "#sse-state", "open", 5000))) return fail("sse opens", await text(page, "#sse-state"));
  ok("sse opens");
  const base = Number(await text(page, "#sse-count"));
  const ids = [await postJob(2500), await postJob(2500)];
  // let some progress events arrive, then cut the stream under the browser
  await page.waitForFunction((n) => Number(document.querySelector("#sse-count").textContent) >= n, base + 6, { timeout: 5000 }).catch(() => {});
  const before = Number(await text(page, "#sse-count"));
  process.kill(Number(process.env.PROXY_PID), "SIGUSR1");
  check("stream cut mid-job", before - base < 24, `already had ${before - base} events`);
  // the browser reconnects by itself after the retry: hint, sending Last-Event-ID
  const reopened = await page.waitForFunction(() => Number(document.querySelector("#sse-opens").textContent) >= 2, null, { timeout: 8000 }).then(() => true, () => false);
  check("EventSource reconnects after the drop", reopened, `opens=${await text(page, "#sse-opens")} state=${await text(page, "#sse-state")}`);
  const allDone = await page.waitForFunction((ids) => ids.every((id) => document.querySelector(`#jobs li[data-job="${id}"]`)?.dataset.status === "done"), ids, { timeout: 8000 }).then(() => true, () => false);
  check("both jobs seen done after the resume", allDone, await text(page, "#jobs"));
  // nothing lost, nothing repeated: every event of both jobs, ids contiguous
  const log = (await text(page, "#sse-log")).trim().split("\n").map((l) => l.split(" "));
  const mine = log.filter((f) => ids.includes(f[1]));
  const evIds = log.map((f) => Number(f[0]));
  const contiguous = evIds.every((v, i) => i === 0 || v === evIds[i - 1] + 1);
  check("no event lost across the drop (12 per job, ids contiguous)", mine.length === 24 && contiguous, `got ${mine.length} events for our jobs, ids ${evIds.join(",")}`);
  const dups = await page.evaluate(() => document.body.dataset.duplicates || "0");
  check("no event repeated after Last-Event-ID resume", dups === "0", `${dups} duplicates`);
  await page.close();
}

async function chat(ctx) {
  const a = await ctx.newPage(), b = await ctx.newPage(), c = await ctx.newPage();
  await Promise.all([a.goto(`${SERVER}/?room=r1&nosse=1`), b.goto(`${SERVER}/?room=r1&nosse=1`), c.goto(`${SERVER}/?room=r2&nosse=1`)]);
  const open = await Promise.all([a, b, c].map((p) => waitText(p, "#ws-state", "open", 5000)));
  if (!open.every(Boolean)) return fail("chat sockets open", open.join(","));
  ok("chat sockets open");
  const msg = `hello from b ${Date.now()}`;
  await b.fill("#chat-text", msg);
  await b.click("#chat-form button");
  const got = await a.waitForFunction((m) => [...document.querySelectorAll("#chat li")].some((li) => li.textContent === m), msg, { timeout: 5000 }).then(() => true, () => false);
  check("chat message delivered to the other page over WebSocket", got, await text(a, "#chat"));
  await sleep(300);
  check("sender does not get its own message back", !(await text(b, "#chat")).includes(msg), await text(b, "#chat"));
  check("other room does not get it", !(await text(c, "#chat")).includes(msg), await text(c, "#chat"));
  await Promise.all([a.close(), b.close(), c.close()]);
}

async function sixConnections(ctx) {
  // HTTP/1.1: Chromium opens at most 6 connections per origin.  Six open
  // EventSources hold all six, so a seventh waits for one of them to close.
  const page = await ctx.newPage();
  await page.goto(`${SERVER}/?nosse=1&room=six`);
  await page.evaluate(() => {
    window.streams = [];
    for (let i = 0; i < 7; i++) window.streams.push(new EventSource("/events"));
  });
  await page.waitForFunction(() => window.streams.filter((s) => s.readyState === 1).length >= 6, null, { timeout: 5000 }).catch(() => {});
  await sleep(1500);
  const states = await page.evaluate(() => window.streams.map((s) => s.readyState));
  const opened = states.filter((s) => s === 1).length, pending = states.filter((s) => s === 0).length;
  check("six EventSources open on one origin", opened === 6, `readyStates ${states}`);
  check("the seventh stays pending while six are open", pending === 1, `readyStates ${states}`);
  await page.evaluate(() => window.streams[0].close());
  const seventh = await page.waitForFunction(() => window.streams[6].readyState === 1, null, { timeout: 5000 }).then(() => true, () => false);
  check("the seventh opens once one of the six closes", seventh, `readyStates ${await page.evaluate(() => window.streams.map((s) => s.readyState))}`);
  await page.close();
}

// Each test and the checks it prints when it runs to its end.
const TESTS = [[sseResume, 6], [chat, 4], [sixConnections, 3]];

(async () => {
  console.log(`plan ${1 + TESTS.reduce((n, [, k]) => n + k, 0)}`);
  let ctx;
  try {
    // a persistent context is how playwright takes a fresh --user-data-dir
    ctx = await chromium.launchPersistentContext(process.env.PROFILE, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      timeout: 20000,
    });
  } catch (e) {
    fail("chromium launches", e.message);
    process.exit(1);
  }
  ok("chromium launches");
  for (const [t] of TESTS) {
    try { await t(ctx); } catch (e) { fail(t.name, e.message); }
  }
  await ctx.close();
  process.exit(0);
})();
