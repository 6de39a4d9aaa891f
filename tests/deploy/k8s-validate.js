// k8s-validate - check Kubernetes manifests against the API's schemas.
//
// Usage: node k8s-validate.js FILE.yaml...
// Every YAML document must be an object whose apiVersion and kind name a
// built-in Kubernetes type (Kubernetes 1.30's, from kubernetes-models,
// whose validators are generated from the Kubernetes OpenAPI
// definitions): required fields, types, enums and formats are checked.
// Prints one line per document and exits 1 if any fails.
// NODE_PATH names the node_modules holding kubernetes-models and yaml.
"use strict";
const fs = require("fs");
const YAML = require("yaml");

// modelOf - the kubernetes-models class for apiVersion and kind:
// "apps/v1" Deployment -> kubernetes-models/apps/v1/Deployment, the core
// group "v1" -> kubernetes-models/v1/Service.
function modelOf(apiVersion, kind) {
  if (!/^[a-z0-9.\/]+$/.test(apiVersion || "") ||
      !/^[A-Za-z]+$/.test(kind || ""))
    return null;
  try {
    return require("kubernetes-models/" + apiVersion + "/" + kind)[kind];
  } catch (e) {
    return null;
  }
}

let failed = 0;
for (const file of process.argv.slice(2)) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  docs.forEach((doc, i) => {
    const where = file + " document " + (i + 1);
    const obj = doc.errors.length ? null : doc.toJSON();
    const Model = obj && modelOf(obj.apiVersion, obj.kind);
    let why = null;
    if (doc.errors.length)
      why = doc.errors[0].message;
    else if (!Model)
      why = "not a Kubernetes type: " + (obj && obj.apiVersion) + " " +
            (obj && obj.kind);
    else {
      try {
        new Model(obj).validate();
      } catch (e) {
        why = e.message;
      }
    }
    const what = obj && obj.metadata ? " (" + obj.kind + " " +
                 obj.metadata.name + ")" : "";
    console.log((why ? "FAIL " : "ok   ") + where + what +
                (why ? ": " + why : ""));
    if (why) failed++;
  });
}
process.exit(failed ? 1 : 0);
