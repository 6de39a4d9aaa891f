// openapi-check - do the daemon's real answers match api/openapi.yaml?
//
// Usage: node openapi-check.js OPENAPI.yaml POINTER=FILE...
// Each FILE holds one JSON answer the deploy test got from a running
// rcptd; POINTER names the schema it must satisfy inside the OpenAPI
// document, e.g. "#/components/schemas/Verdict" or
// "#/paths/~1healthz/get/responses/200/content/application~1json/schema".
// Validation is JSON Schema 2020-12 (OpenAPI 3.1's dialect, Ajv), formats
// included. Prints one line per answer; exits 1 if any fails.
// NODE_PATH names the node_modules holding ajv, ajv-formats and yaml.
"use strict";
const fs = require("fs");
const YAML = require("yaml");
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;

const doc = YAML.parse(fs.readFileSync(process.argv[2], "utf8"));
// OpenAPI keywords that are not JSON Schema's (example) are ignored.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
doc.$id = "openapi";
ajv.addSchema(doc);

let failed = 0;
for (const arg of process.argv.slice(3)) {
  const eq = arg.indexOf("=");
  const pointer = arg.slice(0, eq), file = arg.slice(eq + 1);
  let why = null;
  try {
    const validate = ajv.getSchema("openapi" + pointer);
    if (!validate) throw new Error("no schema at " + pointer);
    const answer = JSON.parse(fs.readFileSync(file, "utf8"));
    if (!validate(answer))
      why = ajv.errorsText(validate.errors, { dataVar: "answer" });
  } catch (e) {
    why = e.message;
  }
  console.log((why ? "FAIL " : "ok   ") + file + " against " + pointer +
              (why ? ": " + why : ""));
  if (why) failed++;
}
process.exit(failed ? 1 : 0);
