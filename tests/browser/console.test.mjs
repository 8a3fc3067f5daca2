// The admin console and the public badge page in a real browser: Debian's Chromium driven by
// playwright-core, accessibility checked with axe-core. Run by infra/scripts/browser-test.sh
// (part of `make test`) against a local stack it starts; STACK_FILE names its stack.json.
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";
import fs from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";

const stack = JSON.parse(fs.readFileSync(process.env.STACK_FILE, "utf8"));
const base = stack.base_url;
const out = process.env.OUT_DIR || "test-output/browser";
fs.mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ locale: "ko-KR", viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
const problems = [];
page.on("pageerror", (e) => problems.push(`script error on ${page.url()}: ${e.message}`));

let step = 0;
async function shot(name) {
  step += 1;
  await page.screenshot({ path: path.join(out, `${String(step).padStart(2, "0")}-${name}.png`), fullPage: true });
}
const axeResults = [];
async function axe(name) {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  axeResults.push({ page: name, url: page.url(), serious_or_critical: bad.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) })) });
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), [], `axe on ${name}`);
}
async function check(name) {
  await shot(name);
  await axe(name);
}
const text = async (sel) => (await page.locator(sel).first().innerText()).trim();
// The error shown next to an input (by the input's id).
const fieldError = (id) => page.locator(`#${id}-error`);

try {
  // --- Sign-in: a wrong key shows the error next to the field and signs nobody in.
  await page.goto(`${base}/console`);
  assert.match(page.url(), /\/console\/login\?next=/);
  await page.fill("#f-api_key", "acc_wrong");
  await page.click("button[type=submit]");
  await fieldError("f-api_key").waitFor();
  assert.match(await fieldError("f-api_key").innerText(), /API/);
  await check("login-error");
  await page.fill("#f-api_key", stack.api_key);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/console`);
  const cookies = await context.cookies();
  // `__Host-`: Chromium keeps it only as Secure, Path=/ and host-only (no Domain).
  const session = cookies.find((c) => c.name === "__Host-accolade_session");
  assert.ok(session && session.httpOnly && session.secure && session.sameSite === "Strict" && session.path === "/", "session cookie is __Host-, HttpOnly, Secure, SameSite=Strict, Path=/");
  await check("dashboard");
  assert.ok(await page.locator("svg[role=img]").count() >= 3, "inline SVG charts");
  assert.equal(await page.locator("svg[role=img]").first().locator("rect.bar").count(), 8, "8 weeks by default");
  await page.selectOption("#f-weeks", "12");
  await page.click("form[action='/console'] button");
  await page.waitForURL(/weeks=12/);
  assert.equal(await page.locator("svg[role=img]").first().locator("rect.bar").count(), 12);

  // --- Templates: bad input keeps what was typed, writes nothing.
  await page.goto(`${base}/console/templates`);
  const before = await page.locator("tbody tr").count();
  await check("templates");
  await page.goto(`${base}/console/templates/new`);
  await check("template-new");
  await page.fill("#f-description", "입력한 설명은 그대로 남아야 합니다");
  await page.click("form[data-preview] button.primary");
  await fieldError("f-name").waitFor();
  assert.equal(await fieldError("f-name").innerText(), "필수 항목입니다.", "the API's error, in Korean, at its field");
  assert.equal(await page.getAttribute("#f-name", "aria-invalid"), "true");
  assert.equal(await page.inputValue("#f-description"), "입력한 설명은 그대로 남아야 합니다");
  await shot("template-error");
  await page.goto(`${base}/console/templates`);
  assert.equal(await page.locator("tbody tr").count(), before, "nothing written");

  // A template to recommend, then one with related badges, a banner and an enrolment link.
  await page.goto(`${base}/console/templates/new`);
  await page.fill("#f-name", "심화 데이터 분석");
  await page.fill("#f-description", "심화 과정 수료");
  await page.fill("#f-criteria-narrative", "과제 3개 통과");
  await page.click("form[data-preview] button.primary");
  await page.waitForURL(/\/console\/templates\/tpl_.*saved=1/);
  const advancedId = page.url().match(/templates\/(tpl_[^?]+)/)[1];

  await page.goto(`${base}/console/templates/new`);
  await page.fill("#f-name", "데이터 분석 입문");
  await page.fill("#f-description", "8주 입문 과정을 수료했습니다.");
  await page.fill("#f-criteria-narrative", "출석 80% 이상, 최종 프로젝트 통과");
  await page.fill("#f-skills", "SQL, Python");
  await page.selectOption("#f-validity-kind", "days_after_issue");
  await page.fill("#f-validity-days", "365");
  await page.selectOption("#f-related-0--template_id", stack.template_id);
  await page.selectOption("#f-related-1--template_id", advancedId);
  await page.fill("#f-related-1--label", "다음 단계");
  // Reorder: the advanced course first.
  await page.locator(".related-row").nth(1).locator("[data-move=up]").click();
  // The moved row takes the first position's name, so errors and order agree with the server.
  assert.equal(await page.inputValue("#f-related-0--template_id"), advancedId);
  assert.equal(await page.inputValue("#f-related-0--label"), "다음 단계");
  await page.fill("#f-banner-image-url", "https://univ.example.ac.kr/banner.png");
  await page.fill("#f-banner-alt", "봄학기 모집");
  await page.fill("#f-banner-target_url", "https://univ.example.ac.kr/admissions");
  await page.fill("#f-enrolment-program_name", "심화 과정");
  await page.fill("#f-enrolment-program_url", "https://univ.example.ac.kr/enrol");
  // The live preview shows the badge page with what was typed.
  const preview = page.frameLocator("iframe[name=preview]");
  await preview.locator("h1", { hasText: "데이터 분석 입문" }).waitFor({ timeout: 10000 });
  await preview.locator("text=다음 단계").first().waitFor();
  await shot("template-preview");
  await page.click("form[data-preview] button.primary");
  await page.waitForURL(/saved=1/);
  const introId = page.url().match(/templates\/(tpl_[^?]+)/)[1];
  assert.equal(await page.inputValue("#f-related-0--template_id"), advancedId, "reordered: advanced first");
  assert.equal(await page.inputValue("#f-related-1--template_id"), stack.template_id);
  assert.equal(await page.inputValue("#f-enrolment-program_url"), "https://univ.example.ac.kr/enrol");
  await check("template-edit");
  // Upload a badge image from the edit page: saved at once, the form then shows "uploaded".
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#1a4d8f"/></svg>';
  await Promise.all([
    page.waitForEvent("load"),
    page.setInputFiles("#f-upload-image", { name: "badge.svg", mimeType: "image/svg+xml", buffer: Buffer.from(svg) }),
  ]);
  assert.equal(await page.inputValue("#f-image-kind"), "uploaded");
  const img = await page.request.get(`${base}/templates/${introId}/image`);
  assert.equal(img.status(), 200);
  assert.match(img.headers()["content-type"], /svg/);

  // --- Issue one badge by form: a bad email is shown next to its field.
  await page.goto(`${base}/console/issue`);
  await check("issue");
  await page.selectOption("#f-template_id", introId);
  await page.fill("#f-recipient-email", "not-an-email");
  await page.fill("#f-recipient-name", "김민수");
  await page.click("form button.primary");
  await fieldError("f-recipient-email").waitFor();
  assert.equal(await page.inputValue("#f-recipient-name"), "김민수");
  await page.fill("#f-recipient-email", "minsu.kim@example.com");
  await page.click("form button.primary");
  await page.waitForURL(/\/console\/awards\/.*issued=1/);
  await check("award-issued");

  // --- Bulk upload: 200 rows, 3 bad; byte progress, live counts, the error report.
  await page.goto(`${base}/console/bulk`);
  await check("bulk");
  const sample = await page.request.get(`${base}/console/bulk/sample.csv`);
  assert.equal(sample.status(), 200);
  let csv = "email,name,issued_on\n";
  for (let i = 0; i < 200; i++) {
    if (i === 20) csv += "not-an-email,잘못된 이메일,2026-03-01\n";
    else if (i === 90) csv += "noname@example.com,,2026-03-01\n";
    else if (i === 150) csv += "baddate@example.com,날짜 오류,2026-13-45\n";
    else csv += `learner${i}@example.com,학습자 ${i},2026-03-01\n`;
  }
  await page.selectOption("#f-template_id", introId);
  await page.setInputFiles("#f-file", { name: "spring-2026.csv", mimeType: "text/csv", buffer: Buffer.from(csv, "utf8") });
  await page.click("#bulk-form button[type=submit]");
  await page.locator("#batch-status[data-status=completed]").waitFor({ timeout: 120000 });
  assert.equal(await page.getAttribute("#upload-progress", "value"), "1", "upload progress reached the end");
  const status = await text("#batch-status");
  assert.match(status, /발급 197/, status);
  assert.match(status, /오류 3/, status);
  await shot("bulk-done");
  const reportHref = await page.getAttribute("#report-link", "href");
  const report = await page.request.get(reportHref);
  const reportText = (await report.text()).replace(/^\uFEFF/, "");
  const lines = reportText.trim().split(/\r?\n/);
  assert.equal(lines.length, 1 + 3, reportText);
  assert.match(reportText, /not-an-email/);

  // --- Awards: find the batch's badges, open one, see its public page with recommendations.
  await page.click("#batch-link");
  await page.waitForURL(/\/console\/awards\?batch=/);
  await check("awards");
  await page.fill("#f-q", "학습자 7");
  await page.click("form[role=search] button");
  await page.locator("tbody tr").first().waitFor();
  await page.locator("tbody th a").first().click();
  await page.waitForURL(/\/console\/awards\/[^?]+$/);
  const awardUrl = page.url();
  await check("award");
  const publicHref = await page.getAttribute("text=공개 배지 페이지 열기", "href");
  await page.goto(publicHref);
  await page.locator(".status.s-valid").waitFor();
  assert.ok(await page.locator("text=심화 데이터 분석").count() >= 1, "recommended badge shown");
  assert.ok(await page.locator(`a[href$="/go/enrol"]`).count() === 1, "enrolment link shown");
  await check("public-badge");

  // --- Sharing: without the Web Share API (desktop Chromium on Linux) the "Share…" button stays
  // hidden and "Copy link" is the way; the copy is counted (a 204 from its share-copy link).
  assert.equal(await page.locator("button[data-share]").isHidden(), true, "no share sheet here");
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const copied = page.waitForResponse((r) => r.url().endsWith("/go/share-copy"));
  await page.click("button[data-copy]");
  assert.equal((await copied).status(), 204, "the copy is counted");
  await page.locator("button[data-copy]:has-text('복사되었습니다')").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), publicHref);
  // With the Web Share API (a phone's browser, stubbed here) the button opens the share sheet
  // with the page's URL, and a completed share is counted as share-native.
  const phone = await context.newPage();
  phone.on("pageerror", (e) => problems.push(`script error on ${phone.url()}: ${e.message}`));
  await phone.addInitScript(() => {
    navigator.share = (data) => { window.__shared = data; return Promise.resolve(); };
  });
  await phone.goto(publicHref);
  await phone.locator("button[data-share]").waitFor({ state: "visible" });
  const shared = phone.waitForResponse((r) => r.url().endsWith("/go/share-native"));
  await phone.click("button[data-share]");
  assert.equal((await shared).status(), 204, "the share is counted");
  assert.equal((await phone.evaluate(() => window.__shared)).url, publicHref);
  const phoneAxe = await new AxeBuilder({ page: phone }).analyze();
  const phoneBad = phoneAxe.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  axeResults.push({ page: "public-badge-share-sheet", url: phone.url(), serious_or_critical: phoneBad.map((v) => ({ id: v.id, impact: v.impact })) });
  assert.deepEqual(phoneBad.map((v) => v.id), [], "axe on the page with its Share… button");
  await phone.close();
  // The link preview: og:image is the share card, a 1200×630 PNG.
  const card = await page.getAttribute("meta[property='og:image']", "content");
  const cardImage = await page.request.get(card);
  assert.equal(cardImage.status(), 200);
  assert.equal(cardImage.headers()["content-type"], "image/png");

  // --- Revoke: a reason is required; then the public page says revoked.
  await page.goto(awardUrl);
  await page.click("form[action$=revoke] button");
  await fieldError("f-reason").waitFor();
  await page.fill("#f-reason", "수료 기준 미달로 취소");
  await page.click("form[action$=revoke] button");
  await page.waitForURL(/revoked=1/);
  assert.match(await text(".status"), /취소/);
  await page.goto(publicHref);
  await page.locator(".status.s-revoked").waitFor();
  assert.match(await text(".status.s-revoked"), /수료 기준 미달로 취소/);
  await shot("public-badge-revoked");

  // --- Archive the recommended template: it leaves the badge pages' recommendations.
  await page.goto(`${base}/console/templates/${advancedId}`);
  await page.click(`form[action$="/archive"] button`);
  await page.waitForURL(/saved=1/);
  assert.equal(await page.locator(`form[action$="/archive"]`).count(), 0);

  // --- Settings: a bad colour keeps what was typed; a new API key is shown once.
  await page.goto(`${base}/console/settings`);
  await check("settings");
  await page.fill("#f-primary_color", "bluish");
  await page.fill("#f-description", "새 소개");
  await page.click("form[action='/console/settings'] button.primary");
  await fieldError("f-primary_color").waitFor();
  assert.match(await fieldError("f-primary_color").innerText(), /색상 형식/);
  assert.equal(await page.inputValue("#f-description"), "새 소개");
  await page.goto(`${base}/console/settings`);
  assert.notEqual(await page.inputValue("#f-description"), "새 소개", "nothing written");
  await page.fill("#f-key_name", "LMS 연동");
  await page.click("form[action='/console/settings/keys'] button");
  assert.match(await text("#new-key"), /^acc_/);
  await page.goto(`${base}/console/settings`);
  assert.equal(await page.locator("#new-key").count(), 0, "shown once");

  // --- Webhooks: a private address is refused next to the URL; an endpoint is added (its
  // secret shown once), a test event sent, and its delivery listed with the receiver's answer.
  await page.goto(`${base}/console/settings/webhooks`);
  await check("webhooks");
  await page.fill("#f-url", "https://10.0.0.1/hook");
  await page.click("form[action='/console/settings/webhooks'] button.primary");
  await fieldError("f-url").waitFor();
  assert.match(await fieldError("f-url").innerText(), /10\.0\.0\.1/);
  await check("webhooks-refused");
  // The local server itself receives it (GET-only there, so the attempt fails with a 405).
  const receiver = `${base.replace("127.0.0.1", "localhost")}/health`;
  await page.fill("#f-url", receiver);
  await page.click("form[action='/console/settings/webhooks'] button.primary");
  assert.match(await text("#new-secret"), /^whsec_/);
  await page.click(`a:has-text("${receiver}")`);
  await page.click("form[action$='/test'] button");
  await page.waitForURL(/done=test/);
  for (let i = 0; (await page.locator("td:has-text('HTTP 405')").count()) === 0; i++) {
    assert.ok(i < 60, "the test delivery shows its answer");
    await page.waitForTimeout(500);
    await page.reload();
  }
  await check("webhook-deliveries");

  // --- KakaoTalk: a bad channel id is refused next to it; the local provider stand-in's account
  // is saved, and its keys are never shown again (only "saved").
  await page.goto(`${base}/console/settings/kakao`);
  await check("kakao");
  const kakao = {
    channel_id: "accolade-local", alimtalk_service_id: "ncp:kkobizmsg:kr:0000001:accolade-local",
    sms_service_id: "ncp:sms:kr:0000001:accolade-local", day1_template_code: "ACCOLADE_DAY1",
    sms_sender: "02-1234-5678", access_key: "LOCALACCESSKEY0000001", secret_key: "local-sens-secret-key-0000000000000001",
  };
  for (const [k, v] of Object.entries(kakao)) await page.fill(`#f-${k}`, v);
  await page.click("form[action='/console/settings/kakao'] button.primary");
  await fieldError("f-channel_id").waitFor();
  assert.match(await fieldError("f-channel_id").innerText(), /@/);
  await page.fill("#f-channel_id", "@accolade-local");
  await page.fill("#f-access_key", kakao.access_key);
  await page.fill("#f-secret_key", kakao.secret_key);
  await page.click("form[action='/console/settings/kakao'] button.primary");
  await page.waitForURL(/saved=1/);
  assert.equal(await page.inputValue("#f-channel_id"), "@accolade-local");
  assert.ok(!(await page.content()).includes(kakao.secret_key), "the secret key is never shown");
  await check("kakao-saved");
  await page.goto(`${base}/console/settings`);

  // --- English, remembered; mobile layout without sideways scrolling.
  await page.click("text=English");
  await page.waitForURL(/\/console\/settings/);
  assert.equal(await text("nav a[aria-current=page]"), "Settings");
  await page.goto(`${base}/console/templates`);
  assert.equal(await text("h1"), "Templates");
  await check("templates-en");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/console`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow}px)`);
  await check("dashboard-mobile");

  // --- Sign-out ends the session.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.click("button:has-text('Sign out')");
  await page.waitForURL(/\/console\/login/);
  await page.goto(`${base}/console/awards`);
  assert.match(page.url(), /\/console\/login/);

  assert.deepEqual(problems, [], "no script errors");
  fs.writeFileSync(path.join(out, "axe.json"), JSON.stringify(axeResults, null, 1));
  console.log(`browser tests passed: ${axeResults.length} pages checked with axe, screenshots in ${out}`);
} catch (e) {
  await shot("failure").catch(() => {});
  fs.writeFileSync(path.join(out, "axe.json"), JSON.stringify(axeResults, null, 1));
  console.error(`browser test failed at ${page.url()}`);
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
