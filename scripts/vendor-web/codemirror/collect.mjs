// collect.mjs META DEST BUNDLE: after the esbuild run of vendor-web.sh, copies the
// licence of every npm package that went into the bundle (esbuild's metafile says
// which) to DEST/LICENSE.{package}, and writes DEST/VERSIONS: the packages with
// their versions and licences, the bundler, and the bundle's sha256. Sorted, no
// dates: two runs give the same bytes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [meta, dest, bundle] = process.argv.slice(2);
const inputs = Object.keys(JSON.parse(fs.readFileSync(meta, 'utf8')).inputs);
const dirs = new Set();
for (const f of inputs) {
  const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
  if (m) dirs.add(m[1]);
}
const pkgOf = (d) => JSON.parse(fs.readFileSync(path.join('node_modules', d, 'package.json'), 'utf8'));
const lines = [];
for (const d of [...dirs].sort()) {
  const p = pkgOf(d);
  const lic = fs.readdirSync(path.join('node_modules', d)).filter((f) => /^licen[cs]e/i.test(f)).sort();
  if (!lic.length) throw new Error(`${d}: no licence file`);
  fs.copyFileSync(path.join('node_modules', d, lic[0]), path.join(dest, `LICENSE.${d.replace('@', '').replace('/', '-')}`));
  lines.push(`${p.name} ${p.version} ${p.license}`);
}
const esb = pkgOf('esbuild');
const sha = crypto.createHash('sha256').update(fs.readFileSync(bundle)).digest('hex');
fs.writeFileSync(path.join(dest, 'VERSIONS'),
  '# The npm packages bundled into codemirror.js (name version licence), each\n' +
  '# licence beside it as LICENSE.{name}; made by scripts/vendor-web.sh from\n' +
  '# scripts/vendor-web/codemirror/ (package-lock.json pins every version).\n' +
  `${lines.join('\n')}\n` +
  `# bundler: ${esb.name} ${esb.version} ${esb.license}\n` +
  `# sha256 codemirror.js ${sha}\n`);
