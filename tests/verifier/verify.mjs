#!/usr/bin/env node
// Offline, independent verifier for Open Badges 3.0 / VC 2.0 credentials,
// built on the Digital Credentials Consortium's @digitalcredentials/verifier-core.
//
//   node tests/verifier/verify.mjs <credential.json>
//
// Prints ONE JSON object on stdout and exits 0 whenever verification ran
// (whatever its outcome); exits 2 on bad arguments and 1 on a crash:
//   { signature: bool, expiration: bool|null, revocation: bool|null,
//     schema: bool|null, errors: [string], result: <raw verifier-core result> }
//
// Offline by construction: verifier-core builds its own document loader at
// import time and takes no `documentLoader` option, so the single point of
// injection is the WHATWG `fetch` that every one of its HTTP paths ends in
// (did:web resolution and the status-list loader via @digitalcredentials/
// http-client -> ky -> globalThis.fetch; the JSON-schema check and the issuer
// registry client call fetch directly). We replace globalThis.fetch before
// loading verifier-core. JSON-LD contexts (VC v2, OB 3.0.x, data integrity,
// bitstring status list, DID, ...) are static in security-document-loader
// and never reach fetch.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
// The OB 3.0 JSON schemas verifier-core picks for VC 2.0 credentials, served from local copies.
const OB_SCHEMA = 'https://purl.imsglobal.org/spec/ob/v3p0/schema/json/';
const LOCAL_FILES = new Map(
  ['ob_v3p0_achievementcredential_schema.json', 'ob_v3p0_endorsementcredential_schema.json']
    .map((f) => [OB_SCHEMA + f, path.join(HERE, 'schemas', f)]),
);
const refused = new Set(); // non-local URLs something tried to fetch
const httpFailures = new Set(); // local requests that went wrong: verifier-core drops these details

// stdout carries only the result: verifier-core console.log()s schema-check failures.
console.log = console.error;

const realFetch = globalThis.fetch;
globalThis.fetch = async function offlineFetch(input, init) {
  const isRequest = input instanceof Request;
  const url = new URL(isRequest ? input.url : String(input));
  if (LOCAL_HOSTS.has(url.hostname)) {
    if (url.protocol === 'https:') {
      // did-method-web always builds https:// URLs; the local server speaks plain http.
      url.protocol = 'http:';
      input = isRequest ? new Request(url, input) : url;
    }
    try {
      // redirect: 'error' so a local server cannot bounce us onto the internet
      const response = await realFetch(input, { ...init, redirect: 'error' });
      const type = response.headers.get('content-type') ?? '';
      if (!response.ok) httpFailures.add(`http ${response.status}: ${url.href}`);
      // http-client only parses bodies whose content-type contains "json": a did.json served
      // as text/plain resolves to nothing and surfaces as a bare "invalid_signature".
      else if (!type.includes('json')) httpFailures.add(`content-type "${type}" (not JSON): ${url.href}`);
      return response;
    } catch (e) {
      httpFailures.add(`fetch failed: ${url.href}: ${e.cause?.message ?? e.message}`);
      throw e;
    }
  }
  const file = LOCAL_FILES.get(url.href);
  if (file) {
    return new Response(await readFile(file), { headers: { 'content-type': 'application/json' } });
  }
  refused.add(url.href);
  console.error(`verify.mjs: REFUSED non-local fetch of ${url.href}`);
  throw new TypeError(`offline verifier refused to fetch ${url.href}`);
};

const { verifyCredential } = await import('@digitalcredentials/verifier-core');

// JSON.stringify that survives Error objects (non-enumerable message) and cycles.
function toJson(value) {
  const ancestors = [];
  return JSON.stringify(value, function (_key, v) {
    if (v instanceof Error) v = { name: v.name, message: v.message, ...v };
    if (typeof v !== 'object' || v === null) return v;
    while (ancestors.length && ancestors.at(-1) !== this) ancestors.pop();
    if (ancestors.includes(v)) return '[Circular]';
    ancestors.push(v);
    return v;
  });
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 1) {
    console.error('usage: node verify.mjs <credential.json>');
    return 2;
  }
  let credential;
  try {
    credential = JSON.parse(await readFile(args[0], 'utf8'));
  } catch (e) {
    console.error(`verify.mjs: cannot read credential ${args[0]}: ${e.message}`);
    return 2;
  }

  // Empty registry list: the "registered_issuer" step never touches the network.
  const result = await verifyCredential({ credential, knownDIDRegistries: [] });

  const step = (id) => result.log?.find((e) => e.id === id);
  const errors = [];
  // Fatal errors (invalid_signature, did_web_unresolved, jsonld.ValidationError, ...): no log at all.
  for (const e of result.errors ?? []) errors.push(`${e.name}: ${e.message}`);
  // Non-fatal thrown checks (e.g. validFrom in the future) are left in result.error.
  if (result.error) errors.push(`${result.error.name}: ${result.error.message}`);
  const revocationStep = step('revocation_status');
  if (revocationStep?.error) {
    errors.push(`${revocationStep.error.name}: ${revocationStep.error.message}`);
  }
  errors.push(...httpFailures);
  for (const url of refused) errors.push(`refused non-local fetch: ${url}`);

  const validOf = (s) => (s && typeof s.valid === 'boolean' ? s.valid : null);
  const schemaResults = result.additionalInformation?.find((e) => e.id === 'schema_check')?.results;
  const out = {
    signature: validOf(step('valid_signature')) === true,
    expiration: validOf(step('expiration')),
    // null when the credential has no status, or the status list could not be checked (see errors)
    revocation: validOf(revocationStep),
    // null when verifier-core knows no schema for the credential or could not load it
    schema: Array.isArray(schemaResults) ? schemaResults.every((r) => r.result?.valid === true) : null,
    errors,
    result,
  };
  await new Promise((resolve) => process.stdout.write(toJson(out) + '\n', resolve));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error('verify.mjs: harness crash:', e);
    process.exit(1);
  },
);
