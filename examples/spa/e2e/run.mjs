// The browser test: starts the crowdfund API (SQLite by default, or E2E_DATABASE_URL), serves
// this page from another origin, and drives it in headless Chromium (Debian's `chromium`, through
// playwright-core): register (a 422 first), browse, pledge (a 422 first), comment, follow, my
// pledges after the access token expired (a cookie refresh), reload (the session survives), log
// out. The seeded campaign has a cover, a gallery, a tier picture, which must load, and a
// comment of its creator's.
//
//   npm run build && npm run e2e
//
// CROWDFUND_BIN (default ../../target/debug/crowdfund), CHROMIUM_PATH (default /usr/bin/chromium).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import { chromium } from "playwright-core";
import { serve } from "../serve.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..", "..", "..");
const bin = process.env.CROWDFUND_BIN ?? join(repo, "target", "debug", "crowdfund");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TTL = 4; // access token lifetime for this run, in seconds

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`  ok: ${message}`);
}

async function until(what, probe, timeoutMs = 15000) {
  const start = Date.now();
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api(base, method, path, body, token) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A PNG of `width` × `height` pixels in one colour, made here (no image library needed). */
function png(width, height, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rows.set([r, (x + y) % 256, b], y * (width * 3 + 1) + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Uploads a PNG to the campaign; returns the image. */
async function upload(base, campaignId, bytes, alt, token) {
  const response = await fetch(`${base}/api/v1/campaigns/${campaignId}/images?alt=${encodeURIComponent(alt)}`, {
    method: "POST",
    headers: { "Content-Type": "image/png", Authorization: `Bearer ${token}` },
    body: bytes,
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`upload: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** A creator (its address verified by the operator's command) with a live campaign: a cover, a gallery of two and one reward tier with its picture. */
async function seed(base, databaseUrl) {
  const email = `creator-${Date.now()}@example.com`;
  const creator = await api(base, "POST", "/api/v1/auth/register", {
    email,
    password: "correct horse battery staple",
    display_name: "Creator",
  });
  execFileSync(bin, ["verify-email", email], {
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, RUST_LOG: "error" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const token = creator.access_token;
  const campaign = await api(base, "POST", "/api/v1/campaigns", {
    title: "Solar Lantern",
    blurb: "Light that charges in the sun",
    description: "A lantern for the browser test.",
    category: "technology",
    currency: "USD",
    goal: "500.00",
    duration_days: 30,
  }, token);
  const cover = await upload(base, campaign.id, png(1200, 600, [250, 180, 20]), "The lantern glowing at dusk", token);
  const first = await upload(base, campaign.id, png(800, 800, [20, 120, 220]), "The solar panel", token);
  const second = await upload(base, campaign.id, png(640, 480, [30, 160, 60]), "Packed for a hike", token);
  const reward = await upload(base, campaign.id, png(300, 300, [200, 40, 40]), "One lantern, boxed", token);
  await api(base, "PATCH", `/api/v1/campaigns/${campaign.id}`, { cover_image_id: cover.id }, token);
  await api(base, "PUT", `/api/v1/campaigns/${campaign.id}/gallery`, { image_ids: [second.id, first.id] }, token);
  const tier = await api(base, "POST", `/api/v1/campaigns/${campaign.id}/tiers`, {
    title: "One lantern",
    min_amount: "25.00",
    quantity: 100,
    estimated_delivery: `${new Date().getUTCFullYear() + 1}-01`,
    image_id: reward.id,
  }, token);
  await api(base, "POST", `/api/v1/campaigns/${campaign.id}/launch`, {}, token);
  await api(base, "POST", `/api/v1/campaigns/${campaign.id}/comments`, { body: "Welcome! <b>Ask</b> me anything" }, token);
  return { campaign, tier, cover, gallery: [second, first], reward };
}

async function main() {
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: run \`cargo build\` first (or set CROWDFUND_BIN)`);
  const [apiPort, spaPort] = [await freePort(), await freePort()];
  const apiBase = `http://localhost:${apiPort}`;
  const spaOrigin = `http://localhost:${spaPort}`;
  const dir = mkdtempSync(join(tmpdir(), "crowdfund-e2e-"));
  const databaseUrl = process.env.E2E_DATABASE_URL ?? `sqlite://${join(dir, "e2e.db")}`;
  console.log(`API ${apiBase} on ${databaseUrl.split(":")[0]}, page ${spaOrigin}`);
  const server = spawn(bin, ["serve"], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      BIND_ADDR: `127.0.0.1:${apiPort}`,
      CORS_ALLOWED_ORIGINS: spaOrigin,
      ACCESS_TOKEN_TTL_SECONDS: String(TTL),
      JWT_SECRET: "e2e-jwt-secret-e2e-jwt-secret-0123456789",
      CRON_SECRET: "e2e-cron-secret-0123456789",
      MAIL_DIR: join(dir, "mail"),
      MEDIA_STORE: `file://${join(dir, "media")}`,
      RUST_LOG: "error",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  let page, pageServer, browser;
  try {
    // Inside the try: a browser that cannot start must not leave the API server running.
    pageServer = await serve(spaPort);
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
    await until("the API", async () => (await fetch(`${apiBase}/health/ready`)).ok);
    const { tier, cover, gallery } = await seed(apiBase, databaseUrl);
    page = await browser.newPage();
    page.on("console", (m) => m.type() === "error" && console.log(`  [page] ${m.text()}`));
    const requests = [];
    page.on("request", (r) => requests.push(r));
    const url = `${spaOrigin}/?api=${encodeURIComponent(apiBase)}`;
    await page.goto(url);
    await page.waitForSelector("body[data-ready=true]");
    check(await page.getByTestId("register-email").isVisible(), "a first visit shows the sign-up form");

    // A problem+json 422 is shown, naming the field.
    const email = `backer-${Date.now()}@example.com`;
    await page.getByTestId("register-name").fill("Browser Backer");
    await page.getByTestId("register-email").fill(email);
    await page.getByTestId("register-password").fill("short");
    await page.getByTestId("register-submit").click();
    await page.getByTestId("field-error-password").waitFor();
    check(true, "a 422 from /auth/register shows the password's error");

    await page.getByTestId("register-password").fill("correct horse battery staple");
    await page.getByTestId("register-submit").click();
    await page.getByTestId("open-campaign-solar-lantern").waitFor();
    check((await page.getByTestId("who").textContent()).includes("Browser Backer"), "registered and signed in");
    check(!(await page.evaluate(() => document.cookie)).includes("crowdfund_refresh"), "scripts cannot read the refresh cookie");

    await page.getByTestId("open-campaign-solar-lantern").click();
    await page.getByTestId(`tier-${tier.id}`).waitFor();
    check((await page.getByTestId("campaign-title").textContent()) === "Solar Lantern", "the campaign page shows its tiers");

    // The images load from the API's /media, another origin than the page's.
    const loaded = (testid) =>
      page.getByTestId(testid).evaluate((img) => img.complete && img.naturalWidth > 0 ? img.currentSrc : "");
    await until("the cover to load", async () => (await loaded("campaign-cover")) !== "");
    const coverSrc = await loaded("campaign-cover");
    check(Object.values(cover.variants).includes(coverSrc), "the cover shows one of its variants");
    check(coverSrc.startsWith(`http://127.0.0.1:${apiPort}/media/`), "variants are served by the API's /media");
    check((await page.getByTestId("campaign-cover").getAttribute("alt")) === "The lantern glowing at dusk", "the cover has its alt text");
    await until("the gallery to load", async () => (await loaded("gallery-0")) !== "" && (await loaded("gallery-1")) !== "");
    check(
      (await page.getByTestId("gallery-0").getAttribute("alt")) === gallery[0].alt &&
        (await page.getByTestId("gallery-1").getAttribute("alt")) === gallery[1].alt,
      "the gallery shows its images in the creator's order",
    );
    await until("the tier's image to load", async () => (await loaded(`tier-image-${tier.id}`)) !== "");
    check(true, "the tier shows its picture");

    await page.getByTestId("pledge-tier").selectOption(String(tier.id));
    await page.getByTestId("pledge-amount").fill("1.00");
    await page.getByTestId("pledge-submit").click();
    await page.getByTestId("field-error-amount").waitFor();
    check(true, "a pledge below the tier's minimum shows the amount's error");

    await page.getByTestId("pledge-card").selectOption("pm_card_visa");
    await page.getByTestId("pledge-amount").fill("30.00");
    const pledged = page.waitForResponse((r) => r.url().endsWith("/pledges") && r.request().method() === "POST");
    await page.getByTestId("pledge-submit").click();
    const response = await pledged;
    check(response.status() === 201, "the pledge is created (201) across origins");
    check(response.headers()["access-control-allow-origin"] === spaOrigin, "CORS allows the page's origin");
    check(/^Bearer /.test(response.request().headers()["authorization"] ?? ""), "the pledge carried the bearer token");
    await page.getByText("Pledged 30.00 USD").waitFor();

    // Comments show as text: the creator's markup stays characters, never elements.
    const list = page.getByTestId("comment-list");
    await list.getByText("Welcome! <b>Ask</b> me anything").waitFor();
    check((await list.locator("b").count()) === 0, "a comment's markup is shown as text");
    check((await list.textContent()).includes("(creator)"), "the creator's comment is marked");
    await page.getByTestId("comment-body").fill("Can't wait for mine!");
    await page.getByTestId("comment-submit").click();
    await list.getByText("Can't wait for mine!").waitFor();
    check((await list.textContent()).includes("Browser Backer"), "a backer's comment appears with its author");

    // Following.
    check((await page.getByTestId("follow").textContent()) === "Follow", "the campaign is not followed yet");
    await page.getByTestId("follow").click();
    await page.getByTestId("follow").getByText("Following").waitFor();
    check((await page.getByTestId("followers").textContent()) === "1 follower", "following counts the follower");

    // Let the access token expire: the next call renews it with the cookie first.
    await page.waitForTimeout(TTL * 1000 + 500);
    const refreshed = page.waitForResponse((r) => r.url().endsWith("/api/v1/auth/refresh"));
    await page.getByTestId("nav-pledges").click();
    const refresh = await refreshed;
    check(refresh.status() === 200, "an expired access token is renewed through /auth/refresh");
    check(refresh.request().postData() === "{}", "the refresh request carries no token: the cookie does");
    check(!("refresh_token" in (await refresh.json())), "the refresh answer has no refresh token in its body");
    await page.getByTestId("pledge-list").getByText("30.00 USD").waitFor();
    check(Number(await page.getByTestId("refresh-count").textContent()) >= 1, "my pledges show after the renewal");

    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    check((await page.getByTestId("who").textContent()).includes("Browser Backer"), "a reload keeps the session (cookie)");

    await page.getByTestId("nav-logout").click();
    await page.getByTestId("register-email").waitFor();
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    check((await page.getByTestId("who").textContent()) === "Not signed in", "after logout a reload is signed out");
    check(requests.some((r) => r.method() === "GET" && r.url().startsWith(apiBase)), "the page talked to the API");
    console.log("browser test passed");
  } finally {
    await browser?.close();
    pageServer?.close();
    server.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
