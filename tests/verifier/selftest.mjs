#!/usr/bin/env node
// Self-test for verify.mjs, independent of the Rust server.
//
// Starts a tiny http server on 127.0.0.1 (random port) serving a did:web DID
// document and a signed BitstringStatusListCredential, signs OpenBadgeCredentials
// with eddsa-rdfc-2022, and runs verify.mjs on each as a child process.
// Prints PASS/FAIL per case; exits non-zero on any failure.
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { DataIntegrityProof } from '@digitalcredentials/data-integrity';
import * as Ed25519Multikey from '@digitalcredentials/ed25519-multikey';
import { cryptosuite } from '@digitalcredentials/eddsa-rdfc-2022-cryptosuite';
import { securityLoader } from '@digitalcredentials/security-document-loader';
import * as vc from '@digitalcredentials/vc';
import { createCredential, createList } from '@digitalcredentials/vc-bitstring-status-list';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VERIFY = path.join(HERE, 'verify.mjs');
const documentLoader = securityLoader().build(); // static contexts only: signing is offline too
const iso = (ms) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const DAY = 86_400_000;
const STATUS_INDEX = 123;

// ---- local "issuer" server ------------------------------------------------
const routes = new Map(); // path -> JSON body
const hits = [];
const server = http.createServer((req, res) => {
  hits.push(req.url);
  const body = routes.get(req.url);
  res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body ?? { error: 'not found' }));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const base = `http://127.0.0.1:${port}`;
const did = `did:web:127.0.0.1%3A${port}:issuers:abc`; // -> http://127.0.0.1:PORT/issuers/abc/did.json
const statusUrl = `${base}/issuers/abc/status/1`;

// ---- keys -------------------------------------------------------------------
const webKey = await Ed25519Multikey.generate({ id: `${did}#key-1`, controller: did });
const webVm = await webKey.export({ publicKey: true, includeContext: false });
routes.set('/issuers/abc/did.json', {
  // did/v1 must come first: jsonld-signatures then skips JSON-LD framing of the controller doc
  '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
  id: did,
  verificationMethod: [webVm],
  assertionMethod: [webVm.id],
  authentication: [webVm.id],
});

const keyKey = await Ed25519Multikey.generate();
const didKey = `did:key:${keyKey.publicKeyMultibase}`;
keyKey.id = `${didKey}#${keyKey.publicKeyMultibase}`;
keyKey.controller = didKey;

async function sign(credential, key = webKey) {
  const suite = new DataIntegrityProof({ signer: key.signer(), cryptosuite });
  const signed = await vc.issue({ credential: structuredClone(credential), suite, documentLoader });
  signed.proof = [signed.proof]; // OB 3.0 schema: proof is an array (not covered by the signature)
  return signed;
}

async function publishStatusList({ revoked }) {
  const list = await createList({ length: 131072 }); // 16 KiB, the spec minimum
  if (revoked) list.setStatus(STATUS_INDEX, true);
  const slc = await createCredential({ id: statusUrl, list, statusPurpose: 'revocation' });
  slc.issuer = did;
  slc.validFrom = iso(-DAY);
  routes.set(new URL(statusUrl).pathname, await sign(slc));
}

function badge({ issuer = did, validFrom = iso(-60_000), validUntil, status = true } = {}) {
  const salt = randomUUID();
  const cred = {
    '@context': [
      'https://www.w3.org/ns/credentials/v2',
      'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
    ],
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', 'OpenBadgeCredential'],
    issuer: { id: issuer, type: ['Profile'], name: 'Selftest Issuer' },
    validFrom,
    ...(validUntil && { validUntil }),
    name: 'Selftest Badge',
    credentialSubject: {
      type: ['AchievementSubject'],
      identifier: [{
        type: 'IdentityObject',
        identityType: 'emailAddress',
        hashed: true,
        salt,
        identityHash: 'sha256$' + createHash('sha256').update('learner@example.com' + salt).digest('hex'),
      }],
      achievement: {
        id: `urn:uuid:${randomUUID()}`,
        type: ['Achievement'],
        name: 'Selftest Achievement',
        description: 'Proves the offline verifier harness works.',
        criteria: { narrative: 'Run selftest.mjs.' },
      },
    },
  };
  if (status) {
    cred.credentialStatus = {
      id: `${statusUrl}#${STATUS_INDEX}`, // optional in VC 2.0, required by the OB 3.0 JSON schema
      type: 'BitstringStatusListEntry',
      statusPurpose: 'revocation',
      statusListIndex: String(STATUS_INDEX),
      statusListCredential: statusUrl,
    };
  }
  return cred;
}

// ---- run verify.mjs --------------------------------------------------------
const tmp = await mkdtemp(path.join(os.tmpdir(), 'verifier-selftest-'));
let n = 0;
async function verify(credential) {
  const file = path.join(tmp, `cred-${++n}.json`);
  await writeFile(file, JSON.stringify(credential, null, 2));
  // async execFile: this process must keep serving http while the child runs
  const { stdout } = await promisify(execFile)(process.execPath, [VERIFY, file], { timeout: 60_000 });
  return JSON.parse(stdout);
}

let failures = 0;
let passes = 0;
async function check(name, credential, expected, extra = () => true) {
  let out;
  let ok = false;
  try {
    out = await verify(credential);
    ok = Object.entries(expected).every(([k, v]) => out[k] === v) && extra(out);
  } catch (e) {
    out = { harnessError: e.message };
  }
  if (ok) passes++;
  else failures++;
  const got = out && 'signature' in out
    ? { signature: out.signature, expiration: out.expiration, revocation: out.revocation, schema: out.schema, errors: out.errors }
    : out;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${JSON.stringify(got)}`);
  if (!ok) console.log(`     expected ${JSON.stringify(expected)}`);
}

try {
  await publishStatusList({ revoked: false });
  const fresh = await sign(badge());

  await check('fresh did:web credential verifies', fresh,
    { signature: true, expiration: true, revocation: true, schema: true },
    (o) => o.errors.length === 0);

  await check('one character of name changed -> bad signature',
    { ...fresh, name: fresh.name.replace(/^S/, 's') }, { signature: false });

  await publishStatusList({ revoked: true });
  await check('status bit set -> revoked', fresh, { signature: true, revocation: false });
  await publishStatusList({ revoked: false });

  await check('validUntil in the past (signed) -> expired',
    await sign(badge({ validFrom: iso(-2 * DAY), validUntil: iso(-DAY) })),
    { signature: true, expiration: false });

  await check('did:key credential without status',
    await sign(badge({ issuer: didKey, status: false }), keyKey),
    { signature: true, expiration: true, revocation: null });

  // did:web with no path -> /.well-known/did.json; "localhost" works as well as 127.0.0.1
  const rootDid = `did:web:localhost%3A${port}`;
  const rootKey = await Ed25519Multikey.generate({ id: `${rootDid}#key-1`, controller: rootDid });
  const rootVm = await rootKey.export({ publicKey: true, includeContext: false });
  routes.set('/.well-known/did.json', {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: rootDid, verificationMethod: [rootVm], assertionMethod: [rootVm.id],
  });
  await check('did:web:localhost%3APORT (no path) resolves via /.well-known/did.json',
    await sign(badge({ issuer: rootDid, status: false }), rootKey), { signature: true });

  const unknownDid = `did:web:127.0.0.1%3A${port}:issuers:nobody`;
  await check('unresolvable did:web (404) -> signature false',
    await sign(badge({ issuer: unknownDid, status: false }),
      await Ed25519Multikey.generate({ id: `${unknownDid}#key-1`, controller: unknownDid })),
    { signature: false },
    // verifier-core names this did_web_unresolved only for DIDs without a port (%3A is not decoded)
    (o) => o.errors.includes(`http 404: ${base}/issuers/nobody/did.json`));

  const remote = 'https://example.com/remote-context.json';
  await check('unknown remote context is refused, not fetched',
    { ...fresh, '@context': [...fresh['@context'], remote] },
    { signature: false },
    (o) => o.errors.includes(`refused non-local fetch: ${remote}`));
} finally {
  server.close();
  await rm(tmp, { recursive: true, force: true });
}

console.log(`server requests: ${JSON.stringify(hits)}`);
console.log(`${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
