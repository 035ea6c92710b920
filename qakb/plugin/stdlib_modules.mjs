// Print, as JSON, the standard-library files (paths inside python_stdlib.zip) that Pyodide's
// start-up, the engine's installation and the qakb engine load while searching a real index.
//
//   node stdlib_modules.mjs <node_modules/pyodide> <site pyodide-lock.json> <engine package> <search_index dir>
//
// Run by the qakb mkdocs plugin (stdlib.py) to make the trimmed standard-library archive
// the browser boots with; the engine is checked and installed as the browser's worker does it
// (search-worker.js, with assets/qakb/wheel.mjs).
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, lockPath, enginePackage, indexDir] = process.argv.slice(2);
if (!indexDir) {
  console.error("usage: node stdlib_modules.mjs <pyodide dir> <site lock file> <engine package> <index dir>");
  process.exit(2);
}
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const { sha256, wheelFiles, install } = await import(new URL("assets/qakb/wheel.mjs", import.meta.url).href);
const pyodide = await loadPyodide({
  indexURL: path.resolve(pyodideDir) + path.sep,
  lockFileURL: path.resolve(lockPath),
  stdout: (line) => console.error(line),
});
const entry = JSON.parse(readFileSync(lockPath, "utf-8")).packages[enginePackage];
const wheel = new Uint8Array(readFileSync(path.join(path.dirname(lockPath), entry.file_name)));
if (sha256(pyodide, wheel) !== entry.sha256) {
  console.error(`${entry.file_name} does not match its sha256 in ${lockPath}`);
  process.exit(1);
}
install(pyodide, await wheelFiles(wheel));
pyodide.FS.mkdirTree("/home/pyodide/search_index");
for (const name of readdirSync(indexDir)) {
  pyodide.FS.writeFile(`/home/pyodide/search_index/${name}`, readFileSync(path.join(indexDir, name)));
}
// Every kind of query the box can send: plain, empty, blank, non-Latin, emoji, too long,
// misspelt, off-topic; and a refused index (the error path).
const files = pyodide.runPython(`
import json, sys
from qakb.engine import Engine, SearchIndexError
engine = Engine.open("/home/pyodide/search_index")
for query in ["why does my loss turn into NaN", "", "   ", "ünïcödé café naïve", "emoji 😀 query", "مرحبا بالعالم",
              "x" * 5000, "gradiant desent", "nonlinearity", "how do I bake bread", "dropout", "a b c d e " * 30]:
    for k in (1, 5, 10):
        engine.search_json(query, k)
try:
    Engine.open("/home/pyodide/search_index", content_hash="sha256:" + "0" * 64)
except SearchIndexError as error:
    str(error)
archive = next(entry for entry in sys.path if entry.endswith(".zip"))
json.dumps(sorted({module.__file__[len(archive) + 1:] for module in list(sys.modules.values())
                   if (getattr(module, "__file__", None) or "").startswith(archive + "/")}))
`);
process.stdout.write(files);
