// Build the package: jco transpile the core component into gen/, then tsc into dist/.
// The component itself is built by `just component` (core/component/build.sh).
// gen/plugin-world/ holds jco's glue for the plugin world (headroom:plugin/plugin@0.1.0),
// transpiled from a first-party plugin (`just plugins`): at run time a plugin's own core module
// runs under it, so the package transpiles nothing when it loads a plugin (DECISIONS D59).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const component = process.env.HEADROOM_COMPONENT ?? join(here, '../target/wasm/headroom-core.wasm');
if (!existsSync(component)) {
  console.error(`no component at ${component}: build it first with \`just component\``);
  process.exit(1);
}
const pluginTemplate =
  process.env.HEADROOM_PLUGIN_TEMPLATE ?? join(here, '../target/plugins/redact-secrets/plugin.wasm');
if (!existsSync(pluginTemplate)) {
  console.error(`no plugin component at ${pluginTemplate}: build the plugins first with \`just plugins\``);
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

// Sync instantiation: the engine calls plugins from inside a synchronous call.
run(bin('jco'), [
  'transpile', pluginTemplate, '-o', 'gen/plugin-world', '--name', 'plugin',
  '--instantiation', 'sync', '--no-nodejs-compat', '--quiet',
]);
// jco lifts strings with a lenient TextDecoder (invalid UTF-8 becomes U+FFFD); wasmtime traps
// on it. A plugin's string must fail the same way in every host, so its glue decodes strictly.
{
  const glue = join(here, 'gen/plugin-world/plugin.js');
  const code = readFileSync(glue, 'utf8');
  const lenient = 'const TEXT_DECODER_UTF8 = new TextDecoder();';
  if (!code.includes(lenient)) {
    console.error(`gen/plugin-world/plugin.js: \`${lenient}\` not found (jco changed): make its UTF-8 decoding fatal again`);
    process.exit(1);
  }
  writeFileSync(glue, code.replace(lenient, "const TEXT_DECODER_UTF8 = new TextDecoder('utf-8', { fatal: true });"));
}
// The template's own core module is not shipped: each plugin brings its own.
for (const f of readdirSync(join(here, 'gen/plugin-world'))) {
  if (f.endsWith('.wasm')) rmSync(join(here, 'gen/plugin-world', f));
}

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
