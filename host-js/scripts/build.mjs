// Build the package: jco transpile the core component into gen/, then tsc into dist/.
// The component itself is built by `just component` (core/component/build.sh).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const component = process.env.HEADROOM_COMPONENT ?? join(here, '../target/wasm/headroom-core.wasm');
if (!existsSync(component)) {
  console.error(`no component at ${component}: build it first with \`just component\``);
  process.exit(1);
}
const bin = (name) => join(here, 'node_modules/.bin', name);
const run = (cmd, args) => {
  try {
    execFileSync(cmd, args, { cwd: here, stdio: 'inherit' });
  } catch {
    console.error(`failed: ${cmd} ${args.join(' ')}`);
    process.exit(1);
  }
};

rmSync(join(here, 'gen'), { recursive: true, force: true });
rmSync(join(here, 'dist'), { recursive: true, force: true });
run(bin('jco'), [
  'transpile', component, '-o', 'gen', '--name', 'headroom-core',
  '--instantiation', 'async', '--no-nodejs-compat', '--quiet',
]);

// The browser loader names every core module literally (so bundlers see them): keep it in step.
const modules = readdirSync(join(here, 'gen')).filter((f) => f.endsWith('.wasm')).sort();
const loader = readFileSync(join(here, 'src/load/browser.ts'), 'utf8');
const missing = modules.filter((m) => !loader.includes(`'../../gen/${m}'`));
if (missing.length) {
  console.error(`src/load/browser.ts does not list ${missing.join(', ')}: add them`);
  process.exit(1);
}
run(bin('tsc'), ['-p', 'tsconfig.json']);
console.log(`built dist/ and gen/ from ${component}`);
