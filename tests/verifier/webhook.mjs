// Checks webhook requests with the Standard Webhooks reference library for Node (npm
// `standardwebhooks`, pinned in package-lock.json), exactly as the README tells receivers to.
// Reads JSON on stdin: {"secret": "whsec_…", "messages": [{"headers": {…}, "body": "…"}, …]};
// prints one JSON list: "ok" or "rejected: …" per message. Run by tests/integration/webhooks.rs.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);
const wh = new Webhook(job.secret);
const verdicts = job.messages.map(({ headers, body }) => {
  try {
    wh.verify(body, headers); // the raw body, as received; throws unless a signature matches
    return "ok";
  } catch (e) {
    return `rejected: ${e.message}`;
  }
});
process.stdout.write(JSON.stringify(verdicts));
