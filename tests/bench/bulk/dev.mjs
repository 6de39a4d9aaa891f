// dev.mjs - deep-email-validator over a list, CONCURRENCY at once (the
// bulk benchmark's reference; tests/bench/bulk/run).
//
//   node dev.mjs MODULE_DIR ADDRS CONCURRENCY OUT
//
// MODULE_DIR is the npm prefix where the bench installed the package.
// Every address goes through validate() with the checks that run here:
// regex, disposable (a list in the package), MX (node's resolver: inside
// the lab namespace, /etc/netns/NAME/resolv.conf names the lab's unbound)
// and SMTP (port 25 of the best MX: banner, HELO, MAIL, RCPT, then it
// drops the connection). validateTypo is off: mailcheck suggests a known
// TLD for every .test domain and would end the check before SMTP.
// OUT gets one line per address: address, valid (1/0), failing check,
// its reason. The last line on stdout is the elapsed time in seconds.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [moduleDir, addrsFile, concArg, outFile] = process.argv.slice(2);
const concurrency = Number.parseInt(concArg, 10);
if (!moduleDir || !addrsFile || !outFile || !(concurrency > 0)) {
	console.error('usage: node dev.mjs MODULE_DIR ADDRS CONCURRENCY OUT');
	process.exit(2);
}
const entry = join(moduleDir, 'node_modules', 'deep-email-validator',
	'dist', 'index.js');
const { validate } = await import(pathToFileURL(entry).href);
const addrs = readFileSync(addrsFile, 'utf8').split('\n').filter(Boolean);
const results = new Array(addrs.length);

let next = 0;
async function worker() {
	while (next < addrs.length) {
		const i = next++;
		const r = await validate({
			email: addrs[i],
			sender: 'verifier@verifier.test',
			validateRegex: true,
			validateMx: true,
			validateTypo: false,
			validateDisposable: true,
			validateSMTP: true,
		});
		const why = r.reason ? r.validators[r.reason].reason : '';
		results[i] = `${addrs[i]}\t${r.valid ? 1 : 0}\t${r.reason || ''}` +
			`\t${String(why).replace(/\s+/g, ' ')}`;
	}
}

const t0 = process.hrtime.bigint();
await Promise.all(Array.from({ length: Math.min(concurrency, addrs.length) },
	worker));
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
writeFileSync(outFile, results.join('\n') + '\n');
console.log(secs.toFixed(3));
